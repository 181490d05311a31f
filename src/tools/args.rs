//! A tool's arguments: a JSON object checked against its schema's names, with typed getters
//! whose errors name the argument (a model reads them and corrects itself).

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub struct Args(Map<String, Value>);

impl Args {
    /// `arguments` must be an object (or absent/null: no arguments) naming only `known`
    /// arguments and every one of `required`.
    pub fn parse(arguments: &Value, known: &[&str], required: &[&str]) -> Result<Args, ArgError> {
        let object = match arguments {
            Value::Null => Map::new(),
            Value::Object(map) => map.clone(),
            _ => return Err(ArgError("The arguments must be a JSON object.".into())),
        };
        if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ArgError(format!(
                "Unknown argument {unknown}; this tool takes: {}.",
                known.join(", ")
            )));
        }
        if let Some(missing) = required
            .iter()
            .find(|name| object.get(**name).is_none_or(Value::is_null))
        {
            return Err(ArgError(format!("The argument {missing} is required.")));
        }
        Ok(Args(object))
    }

    /// A required string argument (presence was checked by `parse`).
    pub fn id(&self, name: &str) -> Result<String, ArgError> {
        self.text(name)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ArgError(format!("The argument {name} must be a non-empty string.")))
    }

    pub fn text(&self, name: &str) -> Result<Option<String>, ArgError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ArgError(format!("The argument {name} must be a string."))),
        }
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, ArgError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| ArgError(format!("The argument {name} must be an integer."))),
        }
    }

    /// The record version the caller read: a positive integer.
    pub fn version(&self) -> Result<i64, ArgError> {
        self.integer("version")?.filter(|v| *v >= 1).ok_or_else(|| {
            ArgError(
                "The argument version must be the record's version as last read (1 or more)."
                    .into(),
            )
        })
    }

    /// The arguments except `skip`, as a JSON body for the API (which checks their values).
    pub fn body_without(&self, skip: &[&str]) -> Value {
        Value::Object(
            self.0
                .iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// Query pairs for the optional arguments `pairs` (argument name, query name) given.
    pub fn query(&self, pairs: &[(&str, &str)]) -> Result<Vec<(String, String)>, ArgError> {
        let mut out = Vec::new();
        for (argument, key) in pairs {
            let value = match self.0.get(*argument) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(_) => {
                    return Err(ArgError(format!(
                        "The argument {argument} must be a string or a number."
                    )))
                }
            };
            out.push(((*key).to_owned(), value));
        }
        Ok(out)
    }
}
