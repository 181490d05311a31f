//! Reading a JSON request body field by field, so that every problem is reported against its
//! own name: an unknown field (400, as everywhere in the API), a value of the wrong type or a
//! malformed document line (422, all of them at once). Ranges and rules are the domain's
//! business afterwards; this only gets the body into typed values.

use crate::json;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::domain::money::{Discount, Line};
use crate::error::AppError;

/// A JSON object being taken apart.
pub struct Body {
    object: Map<String, Value>,
    errors: Vec<Value>,
}

/// The fields a priced line has on the wire.
const LINE_FIELDS: [&str; 7] = [
    "description",
    "quantity_milli",
    "unit_price",
    "tax_rate_ppm",
    "discount",
    "optional",
    "option",
];

/// `[{field, message}]` for every key of `object` not in `allowed`.
fn unknown_fields(object: &Map<String, Value>, allowed: &[&str]) -> Vec<Value> {
    object
        .keys()
        .filter(|key| !allowed.contains(&key.as_str()))
        .map(|key| json!({ "field": key, "message": "Unknown field." }))
        .collect()
}

impl Body {
    /// `bytes` as a JSON object with no field outside `allowed`. An empty body is an empty
    /// object, so actions whose fields are all optional can be posted bare.
    pub fn parse(bytes: &[u8], allowed: &[&str]) -> Result<Body, AppError> {
        let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            serde_json::from_slice(bytes)
                .map_err(|e| AppError::bad_request(format!("The body is not valid JSON: {e}.")))?
        };
        let Value::Object(object) = value else {
            return Err(AppError::bad_request("The body must be a JSON object."));
        };
        let unknown = unknown_fields(&object, allowed);
        if let Some(first) = unknown.first() {
            let name = first["field"].as_str().unwrap_or_default().to_owned();
            return Err(AppError::bad_request(format!(
                "Unknown field {name:?}; the fields are {}.",
                allowed.join(", ")
            ))
            .with_extension("errors", Value::Array(unknown)));
        }
        Ok(Body {
            object,
            errors: Vec::new(),
        })
    }

    fn wrong(&mut self, field: &str, expected: &str) {
        self.errors
            .push(json!({ "field": field, "message": format!("Must be {expected}.") }));
    }

    /// The field as a `T`; absent or `null` is `None`. A wrong type is recorded against the
    /// field ("Must be `expected`.") and is also `None`.
    pub fn take<T: DeserializeOwned>(&mut self, field: &str, expected: &str) -> Option<T> {
        match self.object.remove(field) {
            None | Some(Value::Null) => None,
            Some(value) => match serde_json::from_value(value) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.wrong(field, expected);
                    None
                }
            },
        }
    }

    /// For fields that `null` clears: absent is `None`, `null` is `Some(None)`.
    pub fn take_nullable<T: DeserializeOwned>(
        &mut self,
        field: &str,
        expected: &str,
    ) -> Option<Option<T>> {
        match self.object.get(field) {
            None => None,
            Some(Value::Null) => {
                self.object.remove(field);
                Some(None)
            }
            Some(_) => self.take(field, expected).map(Some),
        }
    }

    /// A list of priced lines, each field checked and named (`lines[2].unit_price`). A line
    /// without `tax_rate_ppm` gets `default_tax_rate_ppm`, the company's default.
    pub fn take_lines(&mut self, field: &str, default_tax_rate_ppm: i64) -> Option<Vec<Line>> {
        let value = match self.object.remove(field) {
            None | Some(Value::Null) => return None,
            Some(value) => value,
        };
        let Value::Array(items) = value else {
            self.wrong(field, "a list of lines");
            return None;
        };
        let mut lines = Vec::with_capacity(items.len());
        let before = self.errors.len();
        for (i, item) in items.into_iter().enumerate() {
            if let Some(line) = self.line(&format!("{field}[{i}]"), item, default_tax_rate_ppm) {
                lines.push(line);
            }
        }
        (self.errors.len() == before).then_some(lines)
    }

    fn line(&mut self, name: &str, value: Value, default_tax_rate_ppm: i64) -> Option<Line> {
        let Value::Object(object) = value else {
            self.wrong(
                name,
                "an object with description, quantity_milli and unit_price",
            );
            return None;
        };
        let mut errors = unknown_fields(&object, &LINE_FIELDS);
        for field in ["description", "quantity_milli", "unit_price"] {
            if matches!(object.get(field), None | Some(Value::Null)) {
                errors.push(json!({ "field": field, "message": "Required." }));
            }
        }
        let mut line = Body { object, errors };
        let description = line.take::<String>("description", "text");
        let quantity_milli = line.take::<i64>("quantity_milli", "a whole number of thousandths");
        let unit_price = line.take::<i64>("unit_price", "a whole number of minor units");
        let tax_rate_ppm = line
            .take::<i64>("tax_rate_ppm", "a whole number of parts per million")
            .unwrap_or(default_tax_rate_ppm);
        let discount = line.take::<Discount>(
            "discount",
            "{\"percent_ppm\": n} or {\"amount\": n} in whole numbers",
        );
        let optional = line
            .take::<bool>("optional", "true or false")
            .unwrap_or(false);
        let option = line.take::<String>("option", "text");
        for mut error in line.errors {
            let field = format!("{name}.{}", error["field"].as_str().unwrap_or_default());
            error["field"] = json!(field);
            self.errors.push(error);
        }
        Some(Line {
            description: description?,
            quantity_milli: quantity_milli?,
            unit_price: unit_price?,
            tax_rate_ppm,
            discount,
            optional,
            option,
        })
    }

    /// Done: a 422 listing every field of the wrong type, if there were any.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::invalid_fields(
                "Some fields have values of the wrong kind.",
                self.errors,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: &AppError) -> Vec<String> {
        err.extensions["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn unknown_fields_are_a_bad_request_naming_them() {
        let err = Body::parse(br#"{"title": "x", "colour": 1, "size": 2}"#, &["title"])
            .err()
            .unwrap();
        assert_eq!(err.status(), 400);
        assert_eq!(fields(&err), ["colour", "size"]);
        assert!(err.detail.clone().unwrap().contains("\"colour\""));
        assert_eq!(Body::parse(b"[1]", &[]).err().unwrap().status(), 400);
        assert_eq!(Body::parse(b"{", &[]).err().unwrap().status(), 400);
        assert!(
            Body::parse(b" ", &[]).is_ok(),
            "an empty body is an empty object"
        );
    }

    #[test]
    fn wrong_types_are_all_named_and_null_is_absent_or_clears() {
        let mut body = Body::parse(
            br#"{"title": 5, "days": "ten", "notes": null, "terms": "x", "extra": null}"#,
            &["title", "days", "notes", "terms", "extra"],
        )
        .unwrap();
        assert_eq!(body.take::<String>("title", "text"), None);
        assert_eq!(body.take::<i64>("days", "a whole number"), None);
        assert_eq!(body.take_nullable::<String>("notes", "text"), Some(None));
        assert_eq!(
            body.take_nullable::<String>("terms", "text"),
            Some(Some("x".into()))
        );
        assert_eq!(body.take_nullable::<String>("missing", "text"), None);
        assert_eq!(body.take::<String>("extra", "text"), None);
        let err = body.finish().unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(fields(&err), ["title", "days"]);
        assert_eq!(
            err.extensions["errors"][1]["message"],
            "Must be a whole number."
        );
    }

    #[test]
    fn lines_are_read_with_each_problem_named_and_the_default_tax_rate() {
        let bytes = br#"{"lines": [
            {"description": "Pump", "quantity_milli": 1000, "unit_price": 5000},
            {"description": "Fee", "quantity_milli": 1000, "unit_price": 100, "tax_rate_ppm": 0,
             "discount": {"percent_ppm": 100000}, "optional": true, "option": "Best"}
        ]}"#;
        let mut body = Body::parse(bytes, &["lines"]).unwrap();
        let lines = body.take_lines("lines", 99_750).unwrap();
        body.finish().unwrap();
        assert_eq!(lines[0].tax_rate_ppm, 99_750, "the default");
        assert_eq!(lines[1].tax_rate_ppm, 0, "given");
        assert_eq!(lines[1].discount, Some(Discount::PercentPpm(100_000)));
        assert!(lines[1].optional);
        assert_eq!(lines[1].option.as_deref(), Some("Best"));

        let bytes = br#"{"lines": [
            {"description": "Pump", "quantity_milli": "ten", "unit_price": 1.5, "price": 1},
            {"quantity_milli": 1000, "unit_price": 1, "discount": {"percent": 10}},
            7
        ]}"#;
        let mut body = Body::parse(bytes, &["lines"]).unwrap();
        assert_eq!(body.take_lines("lines", 0), None);
        let err = body.finish().unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "lines[0].price",
                "lines[0].quantity_milli",
                "lines[0].unit_price",
                "lines[1].description",
                "lines[1].discount",
                "lines[2]",
            ]
        );
        let mut body = Body::parse(br#"{"lines": {"a": 1}}"#, &["lines"]).unwrap();
        assert_eq!(body.take_lines("lines", 0), None);
        assert_eq!(fields(&body.finish().unwrap_err()), ["lines"]);
    }
}
