//! Accessibility of the web console, held by tests: every page, rendered with data in every
//! list, has one `main` reached by the skip link, one `h1` and headings that do not skip a
//! level, a label for every field, unique ids, links and buttons with names, and its live
//! regions announced (`aria-live`); the stylesheet's text colours reach WCAG AA contrast
//! (4.5:1) on every background they can sit on, and its focus rings 3:1.

use crate::console::Visitor;
use crate::support::*;
use reqwest::{Method, StatusCode};
use std::collections::{BTreeMap, BTreeSet};

/// One start tag of a page.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: BTreeMap<String, String>,
    /// Where it starts in the page.
    at: usize,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

/// The start tags of `html`, in order (comments, the doctype and end tags skipped). Enough
/// for the console's own markup, which askama writes and escapes.
fn start_tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let at = i + off;
        i = at + 1;
        if !bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let name_end = html[i..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .map_or(html.len(), |n| i + n);
        let name = html[i..name_end].to_ascii_lowercase();
        let mut attrs = BTreeMap::new();
        let mut j = name_end;
        loop {
            while bytes
                .get(j)
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/')
            {
                j += 1;
            }
            match bytes.get(j) {
                None => break,
                Some(b'>') => {
                    j += 1;
                    break;
                }
                Some(_) => {}
            }
            let key_end = html[j..]
                .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>')
                .map_or(html.len(), |n| j + n);
            let key = html[j..key_end].to_ascii_lowercase();
            j = key_end;
            let mut value = String::new();
            if bytes.get(j) == Some(&b'=') {
                j += 1;
                let quote = bytes[j];
                if quote == b'"' || quote == b'\'' {
                    let end = html[j + 1..].find(quote as char).unwrap() + j + 1;
                    value = html[j + 1..end].to_owned();
                    j = end + 1;
                } else {
                    let end = html[j..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .map_or(html.len(), |n| j + n);
                    value = html[j..end].to_owned();
                    j = end;
                }
            }
            attrs.insert(key, value);
        }
        tags.push(Tag { name, attrs, at });
        i = j;
    }
    tags
}

/// The text of the element starting at `tag` (up to its end tag), without markup.
fn text_of(html: &str, tag: &Tag) -> String {
    let close = format!("</{}>", tag.name);
    let start = tag.at;
    let end = html[start..].find(&close).map_or(html.len(), |n| start + n);
    let mut out = String::new();
    let mut in_tag = false;
    for c in html[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// Every rule this file states about a page's markup; the failures, each naming the page.
fn markup_failures(page: &str, html: &str, signed_in: bool) -> Vec<String> {
    let tags = start_tags(html);
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("{page}: {what}"));
    let named = |name: &'static str| tags.iter().filter(move |t| t.name == name);

    if named("html").next().and_then(|t| t.attr("lang")).is_none() {
        fail("<html> has no lang".into());
    }
    let mains: Vec<&Tag> = named("main").collect();
    if mains.len() != 1 || mains[0].attr("id") != Some("main") {
        fail(format!("{} <main>, or not id=main", mains.len()));
    }
    // The skip link comes first, to the main content.
    let first_link = named("a").next();
    if first_link.and_then(|a| a.attr("href")) != Some("#main") {
        fail("the first link is not the skip link to #main".into());
    }
    if named("h1").count() != 1 {
        fail(format!("{} <h1>", named("h1").count()));
    }
    let mut level = 0;
    for t in &tags {
        if let Some(n) = t.name.strip_prefix('h').and_then(|n| n.parse::<u8>().ok()) {
            if level == 0 && n != 1 {
                fail(format!("the first heading is h{n}"));
            } else if n > level + 1 {
                fail(format!("h{n} after h{level}: {}", text_of(html, t)));
            }
            level = n;
        }
    }
    if signed_in && !named("nav").any(|n| n.attr("aria-label").is_some()) {
        fail("no labelled <nav>".into());
    }

    let mut ids = BTreeSet::new();
    for t in &tags {
        if let Some(id) = t.attr("id")
            && !ids.insert(id)
        {
            fail(format!("the id {id} is used twice"));
        }
    }
    let labelled: BTreeSet<&str> = named("label").filter_map(|l| l.attr("for")).collect();
    for target in &labelled {
        if !ids.contains(target) {
            fail(format!("<label for={target}> names no element"));
        }
    }
    for t in &tags {
        let field = match t.name.as_str() {
            "input" => t.attr("type") != Some("hidden"),
            "select" | "textarea" => true,
            _ => false,
        };
        if !field {
            continue;
        }
        let by_label = t.attr("id").is_some_and(|id| labelled.contains(id));
        let by_aria = t.attr("aria-label").is_some_and(|l| !l.trim().is_empty())
            || t.attr("aria-labelledby")
                .is_some_and(|l| l.split_whitespace().all(|id| ids.contains(id)));
        if !by_label && !by_aria {
            fail(format!("a <{}> without a label: {:?}", t.name, t.attrs));
        }
    }
    for t in &tags {
        for (k, v) in &t.attrs {
            if k.starts_with("on") {
                fail(format!("an inline handler {k} on <{}>", t.name));
            }
            if k == "role" && v == "button" {
                fail(format!("a <{}> acting as a button", t.name));
            }
            if k == "tabindex" && v.parse::<i32>().is_ok_and(|n| n > 0) {
                fail(format!("a positive tabindex on <{}>", t.name));
            }
        }
        let needs_name = match t.name.as_str() {
            "button" => true,
            "a" => {
                if t.attr("href").is_none_or(str::is_empty) {
                    fail(format!("a link without href: {:?}", t.attrs));
                }
                true
            }
            _ => false,
        };
        if needs_name && t.attr("aria-label").is_none() && text_of(html, t).is_empty() {
            fail(format!("a <{}> without a name: {:?}", t.name, t.attrs));
        }
    }
    // What the page's script swaps in place is announced.
    for t in tags.iter().filter(|t| t.attrs.contains_key("data-live")) {
        let announced = t
            .attr("aria-live")
            .is_some_and(|v| v == "polite" || v == "assertive")
            || matches!(t.attr("role"), Some("status" | "alert"));
        if !announced {
            fail(format!(
                "the live region {:?} has no aria-live",
                t.attr("id")
            ));
        }
    }
    failures
}

/// Every console page, signed in as a user who may open them all, with data in every list:
/// the markup rules hold on each.
#[tokio::test]
async fn every_console_page_has_landmarks_headings_labels_and_announced_live_regions() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    app.austin_directory().await;
    let token = app
        .user_token("mia", &crate::authz::PERMISSIONS, &["t-austin"])
        .await;
    app.user_token("ana", &["contact_center.view"], &["t-austin"])
        .await;
    let lonely = app.user_token("fay", &["feeds.write"], &[]).await;
    app.inbound_chat("t-austin", "th-1").await;

    // A local call claimed by mia (her screen pop), a national call pending.
    let local_id = app
        .ring(
            &conn,
            "CA00000000000000000000000000000a11",
            "+15125550123",
            AUSTIN_LOCAL,
        )
        .await;
    let (s, v) = app
        .api_as(
            &token,
            Method::POST,
            &format!("/api/v1/calls/{local_id}/claim"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let national_id = app
        .ring(
            &conn,
            "CA00000000000000000000000000000a12",
            "+15125550124",
            TOLL_FREE,
        )
        .await;
    // A refused webhook on the connection, a pending recording deletion.
    let refused = app
        .http
        .post(format!("{}/webhooks/twilio/{conn}", app.base))
        .form(&[("CallSid", "CA1")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    crate::refusals::refusals_reach(&app, &conn, 1).await;
    let store = app.running.as_ref().unwrap().state.store.clone();
    let c = conn.clone();
    store
        .write(move |db| {
            db.exec(
                "INSERT INTO outbox (kind, connection_id, call_id, provider_call_id, recording_id,
                     attempts, next_attempt_at, last_error, created_at)
                 VALUES ('delete_recording', ?1, 'call-x', 'CA2', 'RE1', 3, 4102444800000,
                     'HTTP 500', 4102444800000)",
                callgate::store::db::args![c],
            )
        })
        .await
        .unwrap();

    let mut anonymous = Visitor::new(&app);
    let mut failures = Vec::new();
    let sign_in = anonymous.get("/").await;
    failures.extend(markup_failures("sign-in", &sign_in.body, false));
    let csrf = sign_in.hidden("csrf");
    let wrong = anonymous
        .post(
            "/console/sign-in",
            &[("csrf", &csrf), ("token", "cgt_not-a-token")],
        )
        .await;
    assert!(wrong.body.contains("role=\"alert\""), "{}", wrong.body);
    failures.extend(markup_failures("sign-in, refused", &wrong.body, false));

    let mut v = Visitor::new(&app);
    v.sign_in(&token).await;
    let pages = [
        ("agent".to_owned(), "/console/agent".to_owned()),
        (
            "find tenant".to_owned(),
            format!("/console/agent?call={national_id}&zip=78701&trade=hvac"),
        ),
        (
            "tenant page".to_owned(),
            format!("/console/calls/{local_id}/tenant-page"),
        ),
        ("settings".to_owned(), "/console/settings".to_owned()),
        ("users".to_owned(), "/console/users".to_owned()),
        ("ops".to_owned(), "/console/ops".to_owned()),
        (
            "connection".to_owned(),
            format!("/console/ops/connections/{conn}"),
        ),
        ("outbound".to_owned(), "/console/ops/outbound".to_owned()),
        (
            "not found".to_owned(),
            "/console/ops/connections/conn_nope".to_owned(),
        ),
    ];
    let mut bodies = BTreeMap::new();
    for (name, path) in &pages {
        let page = v.get(path).await;
        assert!(
            page.status == StatusCode::OK || name == "not found",
            "{path}: {} {}",
            page.status,
            page.body
        );
        // An error page is drawn without the user's bar.
        failures.extend(markup_failures(name, &page.body, name != "not found"));
        bodies.insert(name.as_str(), page.body);
    }
    let csrf = bodies["users"]
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let new_token = v
        .post("/console/users/ana/tokens", &[("csrf", &csrf)])
        .await;
    assert_eq!(new_token.status, StatusCode::CREATED, "{}", new_token.body);
    failures.extend(markup_failures("new token", &new_token.body, true));
    let mut fay = Visitor::new(&app);
    fay.sign_in(&lonely).await;
    let nothing = fay.get("/").await;
    assert!(
        nothing.body.contains("Nothing to show yet"),
        "{}",
        nothing.body
    );
    failures.extend(markup_failures("no pages", &nothing.body, true));
    assert!(failures.is_empty(), "{failures:#?}");

    // The lists the rules above walked through were there.
    let agent = &bodies["agent"];
    for live in ["id=\"pop\"", "id=\"hub\"", "id=\"pending\""] {
        let at = agent
            .find(live)
            .unwrap_or_else(|| panic!("{live}: {agent}"));
        let tag = &agent[agent[..at].rfind('<').unwrap()..at + agent[at..].find('>').unwrap()];
        assert!(tag.contains("aria-live=\"polite\""), "{tag}");
    }
    assert!(agent.contains("Go to Tenant"), "{agent}");
    assert!(agent.contains(&national_id), "{agent}");
    let find = &bodies["find tenant"];
    assert!(
        find.contains("<p role=\"status\" id=\"found-count\">1 tenant serves this ZIP code with this trade.</p>"),
        "{find}"
    );
    assert!(bodies["connection"].contains("class=\"refusal\""));
    assert!(bodies["outbound"].contains(">Retry now<"));
    assert!(bodies["ops"].contains("name=\"secret:auth_token\""));
    app.stop().await;
}

/// The markup rules catch what they are about (each rule's failure, on a page made to break
/// it).
#[test]
fn the_markup_rules_catch_a_missing_label_main_heading_or_announcement() {
    let good = "<!doctype html><html lang=\"en\"><body><a class=\"skip\" href=\"#main\">Skip</a>\
        <main id=\"main\"><h1>T</h1><h2>S</h2><label for=\"z\">ZIP</label><input id=\"z\" name=\"z\">\
        <input type=\"hidden\" name=\"csrf\" value=\"x\"><section id=\"r\" data-live aria-live=\"polite\"></section>\
        <button type=\"submit\">Go</button></main></body></html>";
    assert_eq!(markup_failures("good", good, false), Vec::<String>::new());
    let broken = [
        (
            good.replace("<label for=\"z\">ZIP</label>", ""),
            "without a label",
        ),
        (good.replace("<h2>S</h2>", "<h3>S</h3>"), "h3 after h1"),
        (good.replace("<h1>T</h1>", ""), "0 <h1>"),
        (
            good.replace("<main id=\"main\">", "<div>")
                .replace("</main>", "</div>"),
            "0 <main>",
        ),
        (good.replace(" aria-live=\"polite\"", ""), "no aria-live"),
        (good.replace(">Go<", "><"), "without a name"),
        (good.replace("href=\"#main\"", "href=\"#top\""), "skip link"),
        (good.replace("id=\"r\"", "id=\"z\""), "used twice"),
        (
            good.replace("<button", "<span role=\"button\""),
            "acting as a button",
        ),
    ];
    for (page, expected) in broken {
        let failures = markup_failures("broken", &page, false);
        assert!(
            failures.iter().any(|f| f.contains(expected)),
            "{expected}: {failures:?}"
        );
    }
}

/// An sRGB colour.
type Rgb = [u8; 3];

fn hex(value: &str) -> Option<Rgb> {
    let h = value.trim().strip_prefix('#')?;
    let digits: Vec<u8> = match h.len() {
        3 => h
            .chars()
            .map(|c| u8::from_str_radix(&format!("{c}{c}"), 16).ok())
            .collect::<Option<_>>()?,
        6 => (0..3)
            .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<_>>()?,
        _ => return None,
    };
    Some([digits[0], digits[1], digits[2]])
}

/// WCAG 2 relative luminance.
fn luminance(c: Rgb) -> f64 {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.039_28 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
}

/// WCAG 2 contrast ratio, 1 to 21.
fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// One rule of the stylesheet: its selector and its declarations.
struct Rule {
    selector: String,
    decls: BTreeMap<String, String>,
}

/// The stylesheet's custom properties (`--name`) and its rules (those inside `@media` too).
fn parse_css(css: &str) -> (BTreeMap<String, String>, Vec<Rule>) {
    let mut text = String::new();
    let mut rest = css;
    while let Some(open) = rest.find("/*") {
        text.push_str(&rest[..open]);
        rest = &rest[open + rest[open..].find("*/").unwrap() + 2..];
    }
    text.push_str(rest);
    let mut vars = BTreeMap::new();
    let mut rules = Vec::new();
    let mut rest = text.as_str();
    while let Some(close) = rest.find('}') {
        let block = &rest[..close];
        rest = &rest[close + 1..];
        let Some(open) = block.rfind('{') else {
            continue; // the end of an @media block
        };
        // After an `@media (...) {`, the rule's own selector.
        let selector = block[..open]
            .rsplit('{')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let mut decls = BTreeMap::new();
        for decl in block[open + 1..].split(';') {
            if let Some((k, v)) = decl.split_once(':') {
                let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
                if k.starts_with("--") {
                    vars.insert(k, v);
                } else {
                    decls.insert(k, v);
                }
            }
        }
        rules.push(Rule { selector, decls });
    }
    (vars, rules)
}

/// A colour value: `#hex` or `var(--name)`; anything else (a keyword, `rgba()`) is refused,
/// so that no colour escapes the check.
fn colour(vars: &BTreeMap<String, String>, value: &str) -> Rgb {
    let value = value.trim();
    let resolved = match value.strip_prefix("var(").and_then(|v| v.strip_suffix(')')) {
        Some(name) => vars
            .get(name.trim())
            .unwrap_or_else(|| panic!("no {name} in :root")),
        None => value,
    };
    hex(resolved).unwrap_or_else(|| panic!("{value} is not a colour this check reads"))
}

/// The colour named in a shorthand such as `outline: 3px solid var(--focus)`.
fn colour_in(vars: &BTreeMap<String, String>, value: &str) -> Option<Rgb> {
    value
        .split_whitespace()
        .find(|w| w.starts_with('#') || w.starts_with("var("))
        .map(|w| colour(vars, w))
}

/// The text colours of the stylesheet against the backgrounds they can sit on. The page
/// has two surfaces: the top bar (rules under `.bar`), and the rest. On each, a rule that
/// sets both a colour and a background is checked as that pair; a colour set alone can land
/// on any background of its surface (those set alone, and the surface's own); a focus ring
/// must stand out from each of them.
fn contrast_failures(css: &str) -> Vec<String> {
    let (vars, rules) = parse_css(css);
    let var = |name: &str| colour(&vars, &format!("var({name})"));
    let mut failures = Vec::new();
    for bar in [false, true] {
        let on_surface = |r: &&Rule| {
            r.selector != ":root"
                && r.selector.split(',').all(|s| s.trim().starts_with(".bar")) == bar
        };
        let mine: Vec<&Rule> = rules.iter().filter(on_surface).collect();
        let (mut texts, mut grounds) = if bar {
            (
                vec![("the bar's text".to_owned(), var("--bar-ink"))],
                vec![("the bar".to_owned(), var("--bar"))],
            )
        } else {
            (
                vec![("the page's text".to_owned(), var("--ink"))],
                vec![
                    ("cards".to_owned(), var("--card")),
                    ("the page".to_owned(), var("--bg")),
                ],
            )
        };
        let mut rings = Vec::new();
        for r in &mine {
            let fg = r.decls.get("color").map(|v| colour(&vars, v));
            let bg = r
                .decls
                .get("background")
                .or_else(|| r.decls.get("background-color"))
                .map(|v| colour(&vars, v));
            match (fg, bg) {
                (Some(f), Some(b)) => {
                    let ratio = contrast(f, b);
                    if ratio < 4.5 {
                        failures.push(format!(
                            "{}: text {ratio:.2}:1 on its background",
                            r.selector
                        ));
                    }
                }
                (Some(f), None) => texts.push((r.selector.clone(), f)),
                (None, Some(b)) => grounds.push((r.selector.clone(), b)),
                (None, None) => {}
            }
            let ring = r
                .decls
                .get("outline-color")
                .map(|v| colour(&vars, v))
                .or_else(|| r.decls.get("outline").and_then(|v| colour_in(&vars, v)));
            if let Some(ring) = ring {
                rings.push((r.selector.clone(), ring));
            }
        }
        for (who, f) in &texts {
            for (on, b) in &grounds {
                let ratio = contrast(*f, *b);
                if ratio < 4.5 {
                    failures.push(format!("{who}: text {ratio:.2}:1 on {on}"));
                }
            }
        }
        // The ring that applies on this surface: the last one declared for it.
        for (who, ring) in rings.iter().rev().take(1) {
            for (on, b) in &grounds {
                let ratio = contrast(*ring, *b);
                if ratio < 3.0 {
                    failures.push(format!("{who}: focus ring {ratio:.2}:1 on {on}"));
                }
            }
        }
        if rings.is_empty() {
            failures.push(format!(
                "no focus ring on {}",
                if bar { "the bar" } else { "the page" }
            ));
        }
    }
    failures
}

#[test]
fn the_console_colours_reach_wcag_aa_contrast() {
    let css = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/http/console/assets/console.css"),
    )
    .unwrap();
    let failures = contrast_failures(&css);
    assert!(failures.is_empty(), "{failures:#?}");

    // The arithmetic, on the WCAG's own extremes and a known pair.
    assert!((contrast([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
    assert!((contrast([119, 119, 119], [255, 255, 255]) - 4.48).abs() < 0.01);
    // And the check catches a pale colour, on either surface, and a faint focus ring.
    let pale = css.replace("--muted: #4a5562", "--muted: #9aa5b1");
    assert!(
        contrast_failures(&pale).iter().any(|f| f.contains("text")),
        "pale muted text"
    );
    let pale_bar = css.replace("--bar-ink: #fff", "--bar-ink: #4a5562");
    assert!(
        !contrast_failures(&pale_bar).is_empty(),
        "dark text on the bar"
    );
    let faint = css.replace("--focus: #1b1f24", "--focus: #f2a900");
    assert!(
        contrast_failures(&faint)
            .iter()
            .any(|f| f.contains("focus ring")),
        "an amber ring on white"
    );
}
