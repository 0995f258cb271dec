//! One record of the `evtx` crate (its XML rendered as JSON) to an [`Event`]: the provider,
//! the id (a number, a string, or an object with `#text` when it has Qualifiers), the time,
//! and EventData named or positional.

use exfleet_proto::v1::{Event, EventDatum};
use serde_json::Value;

/// The provider and id of a record, read before the rest to skip what does not matter.
pub fn provider_and_id(event: &Value) -> Option<(&str, u32)> {
    let system = event.get("Event")?.get("System")?;
    let provider = provider_attribute(event, "Name")?;
    Some((provider, number(system.get("EventID")?)? as u32))
}

/// The classic event source (`EventSourceName`, e.g. "DCOM" for
/// Microsoft-Windows-DistributedCOM), as Event Viewer's Source column and libevtx show it;
/// the provider name when there is none.
pub fn source(event: &Value) -> Option<&str> {
    provider_attribute(event, "EventSourceName").or_else(|| provider_attribute(event, "Name"))
}

fn provider_attribute<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event
        .get("Event")?
        .get("System")?
        .get("Provider")?
        .get("#attributes")?
        .get(name)?
        .as_str()
}

/// The event of a record (`log`, record id and time from the record itself).
pub fn event(log: &str, record_id: u64, time_ms: i64, value: &Value) -> Event {
    let (provider, event_id) = provider_and_id(value).unwrap_or(("", 0));
    let system = value.get("Event").and_then(|e| e.get("System"));
    let level = system
        .and_then(|s| s.get("Level"))
        .and_then(number)
        .unwrap_or(0) as u32;
    let mut data = Vec::new();
    let mut binary = String::new();
    if let Some(Value::Object(fields)) = value.get("Event").and_then(|e| e.get("EventData")) {
        for (name, v) in fields {
            match name.as_str() {
                "Binary" => binary = text(v).to_ascii_uppercase(),
                // Positional values: <Data>a</Data><Data>b</Data>.
                "Data" => positional(v, &mut data),
                "#attributes" => {}
                _ => data.push(EventDatum {
                    name: name.clone(),
                    value: text(v),
                }),
            }
        }
    }
    Event {
        log: log.to_string(),
        provider: provider.to_string(),
        event_id,
        record_id,
        time_ms,
        level,
        data,
        binary,
        ..Default::default()
    }
}

fn positional(v: &Value, out: &mut Vec<EventDatum>) {
    let items = match v {
        Value::Object(o) => o.get("#text").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let push = |out: &mut Vec<EventDatum>, v: &Value| {
        out.push(EventDatum {
            name: String::new(),
            value: text(v),
        })
    };
    match &items {
        Value::Array(a) => a.iter().for_each(|v| push(out, v)),
        Value::Null => {}
        v => push(out, v),
    }
}

/// A JSON value as the text the event holds.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("#text").map(text).unwrap_or_default(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// A number written as a JSON number, a string, or `{"#text": n}`.
fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("#text").and_then(number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_positional_binary_and_qualified_ids() {
        let v = json!({"Event": {"System": {
            "Provider": {"#attributes": {"Name": "Service Control Manager"}},
            "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7036},
            "Level": 4},
            "EventData": {"param1": "World Wide Web Publishing Service", "param2": "stopped",
                          "Binary": "570033005300760063002F0031000000"}}});
        let e = event("System", 12, 5, &v);
        assert_eq!(
            (e.provider.as_str(), e.event_id, e.level),
            ("Service Control Manager", 7036, 4)
        );
        assert_eq!(e.data[0].name, "param1");
        assert_eq!(e.data[1].value, "stopped");
        assert_eq!(e.binary, "570033005300760063002F0031000000");
        let v = json!({"Event": {"System": {
            "Provider": {"#attributes": {"Name": "ASP.NET 4.0.30319.0"}},
            "EventID": "1309"},
            "EventData": {"Data": {"#text": ["3005", "An unhandled exception has occurred.", "/owa"]}}}});
        let e = event("Application", 1, 0, &v);
        assert_eq!(e.event_id, 1309);
        let values: Vec<&str> = e.data.iter().map(|d| d.value.as_str()).collect();
        assert_eq!(
            values,
            ["3005", "An unhandled exception has occurred.", "/owa"]
        );
        assert!(e.data.iter().all(|d| d.name.is_empty()));
    }
}
