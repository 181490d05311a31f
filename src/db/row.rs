//! A D1 row (a JavaScript object) into its row type, field by field in declared order.
//!
//! serde_wasm_bindgen hands a struct its row as a map: each row type's `visit_map` matches
//! column names to fields, checks for duplicates and missing fields, and the deserializer's
//! map access is written out again for each row type (37 of them). Here the row is read as a
//! sequence of its declared fields instead (serde's `visit_seq`, a few instructions a
//! field), the fields looked up in one function for every row type; each value is still read
//! by serde_wasm_bindgen. A column the query does not select is `undefined`: `None` for an
//! `Option`, an error for anything else (where the map path used a `#[serde(default)]`, the
//! field reads `Option` and defaults itself: `zero_if_absent`).

use serde::de::{self, DeserializeOwned, DeserializeSeed, Visitor};
use serde::Deserialize;
use serde_wasm_bindgen::{Deserializer as Js, Error};
use wasm_bindgen::JsValue;

/// `row` as a `T`.
pub fn from_row<T: DeserializeOwned>(row: JsValue) -> Result<T, Error> {
    T::deserialize(Row(row))
}

/// For a `#[serde(default)]` integer a query may leave out: 0 when absent or null.
pub fn zero_if_absent<'de, D: de::Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    Option::<i64>::deserialize(de).map(Option::unwrap_or_default)
}

struct Row(JsValue);

/// The values of `fields` in `row`, in order (`undefined` where a column is not selected).
fn field_values(row: &JsValue, fields: &[&str]) -> Result<Vec<JsValue>, Error> {
    fields
        .iter()
        .map(|field| {
            js_sys::Reflect::get(row, &JsValue::from_str(field))
                .map_err(|_| de::Error::custom("a row that is not an object"))
        })
        .collect()
}

/// A struct's fields, read in declared order.
struct Fields(std::vec::IntoIter<JsValue>);

impl<'de> de::SeqAccess<'de> for Fields {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.0.next() {
            Some(value) => seed.deserialize(Js::from(value)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// Everything but a struct as serde_wasm_bindgen reads it.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Error> {
                Js::from(self.0).$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Row {
    type Error = Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_seq(Fields(field_values(&self.0, fields)?.into_iter()))
    }

    forward! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }
}
