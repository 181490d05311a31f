//! The command language's answers: short plain text for a phone screen (and an SMS), built from
//! the API's JSON views. Times are shown in the company's zone: callers pass `wall`, which
//! turns an instant into local wall-clock ms.

use serde_json::Value;

use crate::domain::time::Millis;

/// The reply to a sender no user has linked: says what to do, reveals nothing.
pub const UNLINKED: &str = "This chat is not linked to a fieldworker account. Ask your office \
    for a link code, then send: /link CODE";
pub const LINKED: &str = "Linked. You can now use this chat for your work: send /help to see \
    what I understand.";
pub const LINK_FAILED: &str = "That link code is not valid (codes work once and expire after \
    15 minutes). Ask for a new one.";
pub const ALREADY_LINKED: &str = "This chat is already linked to your account.";
pub const NO_AGENT: &str = "I only understand commands here. Send /help for the list.";
pub const TRY_AGAIN: &str = "Something went wrong on our side; please try again in a minute.";

/// What the sender of a message whose handling was cut off is told (it is not run again: part
/// of it may already be done). `text` is their message, quoted so they know which one.
pub fn interrupted(text: &str) -> String {
    const QUOTE: usize = 60;
    let mut quoted: String = text.trim().chars().take(QUOTE).collect();
    if text.trim().chars().count() > QUOTE {
        quoted.push('…');
    }
    format!(
        "Sorry, I was interrupted before I could answer \"{quoted}\". Part of it may already \
         be done: please check, then send it again if it is still needed."
    )
}

/// `09:05` for local wall-clock ms.
pub fn hhmm(wall_ms: i64) -> String {
    let minutes = wall_ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `Thu 3 Dec` for local wall-clock ms.
pub fn day_label(wall_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = wall_ms.div_euclid(86_400_000);
    let (_, month, day) = Millis((days * 86_400_000).max(0) as u64).utc_date();
    format!(
        "{} {day} {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month as usize).saturating_sub(1) % 12]
    )
}

/// The instant (Unix ms) of an RFC 3339 string in a JSON view.
pub fn instant(value: &Value) -> Option<i64> {
    value
        .as_str()
        .and_then(Millis::parse_rfc3339)
        .map(|m| m.0 as i64)
}

/// `date` is how the day is named, e.g. "Thu 3 Dec". Each visit with its status, the job,
/// where (address and access notes), whom to call, and the command that moves it along.
pub fn schedule(date: &str, visits: &Value, wall: impl Fn(i64) -> i64) -> String {
    let visits = visits["visits"].as_array().cloned().unwrap_or_default();
    if visits.is_empty() {
        return format!("Nothing scheduled for {date}.");
    }
    let mut out = format!("Schedule for {date}:");
    for visit in &visits {
        let (Some(start), Some(end)) = (instant(&visit["start"]), instant(&visit["end"])) else {
            continue;
        };
        let number = visit["job"]["number"].as_i64();
        let job = match (number, visit["job"]["title"].as_str()) {
            (Some(number), Some(title)) => format!("#{number} {title}"),
            _ => "a job".to_owned(),
        };
        out.push_str(&format!(
            "\n\n{}-{} {job}",
            hhmm(wall(start)),
            hhmm(wall(end))
        ));
        let status = visit["status"].as_str().unwrap_or("scheduled");
        if status != "scheduled" {
            out.push_str(&format!(" ({})", status.replace('_', " ")));
        }
        if let Some(name) = visit["customer"]["name"].as_str() {
            out.push_str(&format!("\n{name}"));
            if let Some(phone) = visit["customer"]["phone"].as_str() {
                out.push_str(&format!(", {phone}"));
            }
        }
        if let Some(address) = visit["site"]["address"].as_str() {
            out.push_str(&format!("\n{address}"));
        }
        if let Some(access) = visit["site"]["access_notes"].as_str() {
            out.push_str(&format!("\nAccess: {access}"));
        }
        if let Some(number) = number {
            match status {
                "scheduled" | "en_route" => out.push_str(&format!("\n/arrive {number}")),
                "in_progress" => out.push_str(&format!("\n/done {number}")),
                _ => {}
            }
        }
    }
    out
}

/// Of a job's visits (the sender's), the one `/arrive` or `/done` means: the one under way,
/// else the earliest still ahead.
pub fn visit_to_move<'a>(visits: &[&'a Value]) -> Option<&'a Value> {
    let status = |v: &Value| v["status"].as_str().unwrap_or_default().to_owned();
    visits
        .iter()
        .find(|v| matches!(status(v).as_str(), "in_progress" | "en_route"))
        .or_else(|| visits.iter().find(|v| status(v) == "scheduled"))
        .copied()
}

/// What `/arrive` or `/done` answers: where the visit and its job are now, and whether to
/// complete the job.
pub fn visit_moved(job: &Value, visit: &Value) -> String {
    let number = &job["number"];
    let visit_status = visit["status"].as_str().unwrap_or("?").replace('_', " ");
    let job_status = visit["job"]["status"]
        .as_str()
        .unwrap_or("?")
        .replace('_', " ");
    let mut out = format!("#{number} visit {visit_status}; the job is {job_status}.");
    if visit["offer_job_completion"].as_bool() == Some(true) {
        out.push_str(&format!(
            " That was its last visit: send /status {number} completed to complete the job."
        ));
    }
    out
}

pub fn job_line(job: &Value) -> String {
    let mut line = format!(
        "#{} {} - {}",
        job["number"],
        job["title"].as_str().unwrap_or("(untitled)"),
        job["status"].as_str().unwrap_or("?").replace('_', " ")
    );
    if let Some(priority) = job["priority"].as_str().filter(|p| *p != "normal") {
        line.push_str(&format!(" ({priority})"));
    }
    line
}

pub fn jobs(list: &Value) -> String {
    let jobs = list["jobs"].as_array().cloned().unwrap_or_default();
    if jobs.is_empty() {
        return "No jobs found.".to_owned();
    }
    let mut out = String::new();
    for job in jobs.iter().take(15) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&job_line(job));
    }
    if jobs.len() > 15 {
        out.push_str(&format!("\n… and {} more", jobs.len() - 15));
    }
    out
}

/// `/job 42`: status, customer, site, next visit, technicians and the last note.
pub fn job(job: &Value, wall: impl Fn(i64) -> i64) -> String {
    let mut out = job_line(job);
    if let Some(name) = job["customer"]["name"].as_str() {
        out.push_str(&format!("\nCustomer: {name}"));
        if let Some(phone) = job["customer"]["phone"].as_str() {
            out.push_str(&format!(", {phone}"));
        }
    }
    if let Some(address) = job["site"]["address"].as_str() {
        out.push_str(&format!("\nSite: {address}"));
    }
    if let Some(access) = job["site"]["access_notes"].as_str() {
        out.push_str(&format!("\nAccess: {access}"));
    }
    let next = &job["next_visit"];
    match (instant(&next["start"]), instant(&next["end"])) {
        (Some(start), Some(end)) => out.push_str(&format!(
            "\nNext visit: {} {}-{}{}",
            day_label(wall(start)),
            hhmm(wall(start)),
            hhmm(wall(end)),
            match next["status"].as_str() {
                Some("scheduled") | None => String::new(),
                Some(status) => format!(" ({})", status.replace('_', " ")),
            }
        )),
        _ => out.push_str("\nNext visit: none booked"),
    }
    let names: Vec<&str> = job["workers"]
        .as_array()
        .map(|w| w.iter().filter_map(|w| w["name"].as_str()).collect())
        .unwrap_or_default();
    match names.as_slice() {
        [] => out.push_str("\nTechnicians: nobody yet"),
        _ => out.push_str(&format!("\nTechnicians: {}", names.join(", "))),
    }
    if let Some(items) = job["items"].as_array().filter(|i| !i.is_empty()) {
        out.push_str(&format!("\n{} item(s) of work and parts", items.len()));
    }
    if let Some(notes) = job["notes"].as_array().filter(|n| !n.is_empty()) {
        out.push_str("\nLast note: ");
        out.push_str(notes.last().and_then(|n| n["text"].as_str()).unwrap_or(""));
    }
    out
}

pub fn customers(list: &Value) -> String {
    let customers = list["customers"].as_array().cloned().unwrap_or_default();
    if customers.is_empty() {
        return "No customer found.".to_owned();
    }
    let mut out = String::new();
    for customer in customers.iter().take(10) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(customer["name"].as_str().unwrap_or("?"));
        for key in ["phones", "emails"] {
            if let Some(first) = customer[key].as_array().and_then(|a| a.first()) {
                out.push_str(&format!(", {}", first.as_str().unwrap_or("")));
            }
        }
    }
    out
}

/// What the API said when it refused: the detail and the first field error, briefly. A
/// refused status move's detail already names the allowed moves: they are not repeated.
pub fn refusal(problem: &Value) -> String {
    let mut out = problem["detail"]
        .as_str()
        .or_else(|| problem["title"].as_str())
        .unwrap_or("That was refused.")
        .to_owned();
    if let Some(error) = problem["errors"].as_array().and_then(|e| e.first()) {
        if let Some(message) = error["message"].as_str() {
            out.push_str(&format!(" {message}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_message_is_quoted_short_enough_to_recognise() {
        let short = interrupted("  /move 42 2026-11-24 09:00 ");
        assert!(short.contains("\"/move 42 2026-11-24 09:00\""), "{short}");
        let long = interrupted(&"é".repeat(100));
        assert!(long.contains(&format!("\"{}…\"", "é".repeat(60))), "{long}");
    }
    use crate::json;

    #[test]
    fn a_schedule_lists_visits_in_local_time_with_their_jobs() {
        let visits = json!({ "visits": [
            { "start": "2026-12-03T14:00:00.000Z", "end": "2026-12-03T15:30:00.000Z",
              "status": "scheduled",
              "job": { "number": 42, "title": "Boiler service" },
              "customer": { "name": "Ada", "phone": "+15550100" },
              "site": { "address": "1 Main St, Springfield", "access_notes": "Gate 1234" } },
            { "start": "2026-12-03T17:00:00.000Z", "end": "2026-12-03T18:00:00.000Z",
              "status": "in_progress" },
        ]});
        let new_york = |ms: i64| ms - 5 * 3_600_000;
        assert_eq!(
            schedule("Thu 3 Dec", &visits, new_york),
            "Schedule for Thu 3 Dec:\n\n09:00-10:30 #42 Boiler service\nAda, +15550100\n\
             1 Main St, Springfield\nAccess: Gate 1234\n/arrive 42\n\n\
             12:00-13:00 a job (in progress)"
        );
        assert_eq!(
            schedule("Fri 4 Dec", &json!({ "visits": [] }), new_york),
            "Nothing scheduled for Fri 4 Dec."
        );
    }

    #[test]
    fn a_job_reads_with_its_customer_site_next_visit_people_and_last_note() {
        let full = json!({
            "number": 1, "title": "Boiler service", "status": "scheduled", "priority": "normal",
            "customer": { "name": "Ada", "phone": null },
            "site": { "address": "1 Main St", "access_notes": null },
            "next_visit": { "start": "2026-12-07T09:00:00.000Z", "end": "2026-12-07T11:00:00.000Z",
                            "status": "scheduled" },
            "workers": [{ "id": "u1", "name": "Olive Owner" }],
            "notes": [{ "text": "old" }, { "text": "Bring the ladder" }],
        });
        assert_eq!(
            job(&full, |ms| ms),
            "#1 Boiler service - scheduled\nCustomer: Ada\nSite: 1 Main St\n\
             Next visit: Mon 7 Dec 09:00-11:00\nTechnicians: Olive Owner\n\
             Last note: Bring the ladder"
        );
        let bare = json!({ "number": 2, "title": "Tap", "status": "requested",
                           "next_visit": null, "workers": [] });
        assert_eq!(
            job(&bare, |ms| ms),
            "#2 Tap - requested\nNext visit: none booked\nTechnicians: nobody yet"
        );
    }

    #[test]
    fn arrive_and_done_take_the_visit_under_way_else_the_next() {
        let visits = [
            json!({ "id": "a", "status": "scheduled" }),
            json!({ "id": "b", "status": "in_progress" }),
        ];
        let refs: Vec<&Value> = visits.iter().collect();
        assert_eq!(visit_to_move(&refs).unwrap()["id"], "b");
        assert_eq!(visit_to_move(&refs[..1]).unwrap()["id"], "a");
        assert!(visit_to_move(&[]).is_none());
        let done = json!({ "status": "completed", "offer_job_completion": true,
                           "job": { "status": "in_progress" } });
        assert_eq!(
            visit_moved(&json!({ "number": 42 }), &done),
            "#42 visit completed; the job is in progress. That was its last visit: send \
             /status 42 completed to complete the job."
        );
    }

    #[test]
    fn days_are_named_for_a_phone_screen() {
        let at = |text: &str| Millis::parse_rfc3339(text).unwrap().0 as i64;
        assert_eq!(day_label(at("2026-12-03T09:00:00Z")), "Thu 3 Dec");
        assert_eq!(day_label(at("2026-03-08T23:59:00Z")), "Sun 8 Mar");
        assert_eq!(hhmm(at("2026-03-08T23:59:00Z")), "23:59");
    }

    #[test]
    fn jobs_read_as_one_line_each_with_unusual_priorities_shown() {
        let list = json!({ "jobs": [
            { "number": 42, "title": "Boiler service", "status": "in_progress", "priority": "urgent" },
            { "number": 7, "title": "Tap", "status": "requested", "priority": "normal" },
        ]});
        assert_eq!(
            jobs(&list),
            "#42 Boiler service - in progress (urgent)\n#7 Tap - requested"
        );
        assert_eq!(jobs(&json!({ "jobs": [] })), "No jobs found.");
    }

    #[test]
    fn a_refusal_says_why_and_what_is_allowed() {
        let problem = crate::domain::jobs::JobStatus::Requested
            .transition(crate::domain::jobs::JobStatus::InProgress)
            .unwrap_err()
            .to_problem("/api/v1/jobs/1/status", "r1");
        assert_eq!(
            refusal(&problem),
            "A requested job cannot move to in_progress. It can move to scheduled, on_hold, \
             cancelled."
        );
    }
}
