//! `GET /`: one server-rendered page that works without JavaScript and loads
//! nothing from elsewhere: the month's projection vs budget with the alarm
//! banner, a stacked bar chart by component (actual vs scheduled), a
//! timeline of the month's windows and ALB lifetimes (coalesced gaps shown),
//! NAT vs endpoints with break-even points, and the ALB's state. Operators
//! (signed in with a token) add and cancel windows with CSRF-protected forms.

use std::fmt::Write;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{ApiError, AppState, Caller};
use crate::app::windows::NewWindow;
use crate::budget::AlarmState;
use crate::config::Role;
use crate::money::{format_quantity, format_usd};
use crate::schedule::{Interval, Month};

/// The page's routes.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", get(page))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/ui/windows", post(ui_add_window))
        .route("/ui/windows/{id}/cancel", post(ui_cancel_window))
}

/// Text for HTML: escaped, and the model's `code` spans (backticks, as the
/// terminal shows them) set as `<code>` instead of leaking as backticks.
pub fn text_with_code(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unpaired backtick: nothing to set; plain text.
        return esc(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(p))
            } else {
                esc(p)
            }
        })
        .collect()
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const CSS: &str = "
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:980px;margin:0 auto;padding:12px}header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:baseline;gap:8px}
h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:18px 0 8px}section{background:#fff;border-radius:8px;padding:12px 14px;margin:12px 0;box-shadow:0 1px 2px #0001}
.banner{padding:12px 14px;border-radius:8px;font-weight:600}.ok{background:#e3f4e8;color:#17552b}.alarm{background:#fbe4e4;color:#8a1c1c}
.muted{color:#667}.extra-hour{color:#9a5b00;font-size:12px}.badge{display:inline-block;padding:1px 8px;border-radius:10px;background:#e8ebf1;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{padding:4px 6px;border-bottom:1px solid #eceef2;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.big{font-size:26px;font-weight:700}
form.inline{display:inline}input,button{font:inherit;padding:4px 8px}svg{width:100%;height:auto}
svg.chart{display:block;max-width:620px;font-size:11px}svg .axis{fill:#556}svg .level{fill:#444}.key{font-size:13px}
details summary{cursor:pointer;color:#2f5bb5}section{overflow-x:auto}
@media (max-width:520px){svg.chart{font-size:15px}td,th{padding:3px 4px;font-size:13px}}
@media print{body{background:#fff;font-size:12px}main{max-width:none;padding:0}section{box-shadow:none;border:1px solid #ccc;break-inside:avoid;overflow:visible}
form,.buttons,#book,#quote,#events,#downloads,#notifications{display:none}a{color:inherit;text-decoration:none}}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:8px}
.field{display:flex;flex-wrap:wrap;align-items:center;gap:4px 8px;margin:6px 0}.field label{min-width:70px}.field input{flex:1 1 160px;max-width:320px}
.error{color:#a11d1d;font-weight:600}input[aria-invalid]{border:2px solid #a11d1d}.quote{background:#eef4ff;border-radius:6px;padding:8px 10px;margin-top:8px}
";

/// The page's query: `?month=YYYY-MM` picks the month shown; `?events=<kind>`
/// filters the events list; `?booked=<id>` confirms a window just booked from
/// the form.
#[derive(Deserialize, Default)]
struct PageQuery {
    events: Option<String>,
    /// Events older than this event id (the events table's next page).
    older: Option<String>,
    booked: Option<i64>,
    month: Option<String>,
}

/// The booking form as posted: what was typed, the errors by field, the
/// price preview.
#[derive(Default)]
struct Booking {
    start: String,
    duration: String,
    note: String,
    /// (field, message): `start`, `duration`, `note`, or `form` for the rest.
    errors: Vec<(&'static str, String)>,
    quote: Option<crate::app::windows::WindowQuote>,
}

impl Booking {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

/// Events the dashboard lists per page.
const EVENT_ROWS: u32 = 20;

/// The recent events (filtered by `kind`, when it names one; a page older
/// than event `older`, when given, with links between pages) and, with
/// `[[notify]]` destinations, how each has fared.
fn events_section(h: &mut String, s: &AppState, kind: Option<&str>, older: Option<&str>) -> Result<(), ApiError> {
    use crate::event::EventKind;
    let filter = kind.and_then(EventKind::parse);
    // An id longer than any costd makes is not looked up: the newest page instead.
    let older = older.filter(|o| o.len() <= crate::event::MAX_ID_BYTES);
    let mut events = s.store.events(filter, older, EVENT_ROWS + 1)?;
    let more = events.len() > EVENT_ROWS as usize;
    events.truncate(EVENT_ROWS as usize);
    let _ = write!(h, "<section id=events><h2>Events</h2><p class=muted>Show: ");
    let link = |h: &mut String, label: &str, href: &str, on: bool| {
        if on {
            let _ = write!(h, "<strong>{}</strong> ", esc(label));
        } else {
            let _ = write!(h, "<a href=\"{}\">{}</a> ", esc(href), esc(label));
        }
    };
    link(h, "all", "/#events", filter.is_none());
    for k in EventKind::ALL {
        link(
            h,
            k.as_str(),
            &format!("/?events={}#events", k.as_str()),
            filter == Some(k),
        );
    }
    let _ = write!(h, "</p>");
    if let (Some(k), None) = (kind, filter) {
        let _ = write!(h, "<p class=muted>`{}` is not an event kind; showing all.</p>", esc(k));
    }
    let page_link = |before: Option<&str>| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(k) = filter {
            q.append_pair("events", k.as_str());
        }
        if let Some(b) = before {
            q.append_pair("older", b);
        }
        format!("/?{}#events", q.finish())
    };
    if events.is_empty() && older.is_some() {
        let _ = write!(h, "<p class=muted>No older events are kept.</p>");
    } else if events.is_empty() {
        let _ = write!(h, "<p class=muted>No events yet.</p>");
    } else {
        let _ = write!(h, "<table><tr><th>when</th><th>event</th><th>what happened</th></tr>");
        for e in &events {
            let _ = write!(
                h,
                "<tr class=\"event {kind}\"><td>{at}</td><td><span class=badge>{kind}</span> <span class=muted>{sev}</span></td><td>{text}{link}</td></tr>",
                at = e.at.with_timezone(&s.cfg.timezone).format("%Y-%m-%d %H:%M"),
                kind = e.kind.as_str(),
                sev = e.severity.as_str(),
                text = esc(&e.text),
                link = e
                    .link
                    .as_deref()
                    .map(|l| format!(" <a href=\"{0}\">{0}</a>", esc(l)))
                    .unwrap_or_default(),
            );
        }
        let _ = write!(h, "</table>");
    }
    let _ = write!(h, "<p id=event-pages>");
    if older.is_some() {
        let _ = write!(h, "<a href=\"{}\">Newest events</a> ", esc(&page_link(None)));
    }
    if let (true, Some(last)) = (more, events.last()) {
        let _ = write!(
            h,
            "<a href=\"{}\" rel=next>Older events</a>",
            esc(&page_link(Some(&last.id)))
        );
    }
    let _ = write!(h, "</p>");
    if !s.cfg.notify.is_empty() {
        let status = s.store.destination_status()?;
        let _ = write!(
            h,
            "<h2>Destinations</h2><table id=destinations><tr><th>name</th><th>kind</th><th>last delivered</th><th>last error</th><th class=n>waiting</th><th class=n>dead</th></tr>"
        );
        let when = |t: Option<chrono::DateTime<Utc>>| {
            t.map(|t| t.with_timezone(&s.cfg.timezone).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "—".into())
        };
        for d in &s.cfg.notify {
            let st = status.iter().find(|x| x.destination == d.name);
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=muted>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                esc(&d.name),
                d.kind.as_str(),
                when(st.and_then(|x| x.last_delivered_at)),
                st.and_then(|x| x.last_error.as_deref())
                    .map(|e| format!("{} ({})", esc(e), when(st.and_then(|x| x.last_error_at))))
                    .unwrap_or_default(),
                st.map_or(0, |x| x.pending),
                st.map_or(0, |x| x.dead),
            );
        }
        let _ = write!(h, "</table>");
        let dead = s.store.deliveries(crate::store::NotificationState::Dead, 10)?;
        if !dead.is_empty() {
            let _ = write!(
                h,
                "<h2>Undeliverable</h2><table id=dead-deliveries><tr><th>when</th><th>event</th><th>to</th><th class=n>tries</th><th>last error</th></tr>"
            );
            for d in &dead {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=muted>{}</td></tr>",
                    d.at.with_timezone(&s.cfg.timezone).format("%Y-%m-%d %H:%M"),
                    esc(&d.event_id),
                    esc(&d.destination),
                    d.attempts,
                    esc(d.last_error.as_deref().unwrap_or(""))
                );
            }
            let _ = write!(
                h,
                "</table><p class=muted>Fix the destination, then <code>DELETE /api/v1/events/deliveries/dead</code> clears them.</p>"
            );
        }
        let _ = write!(
            h,
            "<p class=muted><code>costd notify test --to NAME</code> sends a sample to check a destination.</p>"
        );
    }
    let _ = write!(h, "</section>");
    Ok(())
}

async fn page(
    State(s): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> Result<Response, ApiError> {
    let caller = s.caller(&headers);
    if caller.is_none() && !s.cfg.web.public_dashboard {
        return Ok((StatusCode::UNAUTHORIZED, Html(login_page(&s))).into_response());
    }
    Ok(Html(render(&s, &caller, &query, &Booking::default()).await?).into_response())
}

/// The whole page for `caller`, with the booking form as given.
async fn render(
    s: &AppState,
    caller: &Option<Caller>,
    query: &PageQuery,
    booking: &Booking,
) -> Result<String, ApiError> {
    let latest = s.latest.read().await.clone();
    let alb = crate::app::views::alb_state(&s.app).await?;
    let month = Month::containing(Utc::now(), s.cfg.projection.timezone);
    let mut h = String::with_capacity(32 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <title>costd · {dep}</title><style>{CSS}{timeline_css}</style></head><body><main>\
         <header><h1>costd · {dep}</h1><span class=muted>{region}{dry} · {month} ({tz})</span></header>",
        dep = esc(&s.cfg.deployment),
        region = esc(&s.cfg.region),
        dry = if s.cfg.dry_run {
            " · <span class=badge>dry run</span>"
        } else {
            ""
        },
        tz = esc(s.cfg.projection.timezone.name()),
        timeline_css = super::timeline::CSS,
    );

    // Banner: alarms first.
    let alarms: Vec<_> = latest
        .evaluations
        .iter()
        .filter(|e| e.state == AlarmState::Alarm)
        .collect();
    if alarms.is_empty() {
        let _ = write!(h, "<div class=\"banner ok\" id=banner>Budgets OK</div>");
    } else {
        let list: Vec<String> = alarms
            .iter()
            .map(|e| {
                format!(
                    "{} ({} {} &gt; {})",
                    esc(&e.key),
                    e.kind.as_str(),
                    format_usd(e.value_usd),
                    format_usd(e.threshold_usd)
                )
            })
            .collect();
        let _ = write!(
            h,
            "<div class=\"banner alarm\" id=banner>ALARM: {}</div>",
            list.join("; ")
        );
    }

    // Stored windows that cannot be read: skipped, never opened, cancellable.
    let quarantined = s.store.quarantined_windows()?;
    if !quarantined.is_empty() {
        let list: Vec<String> = quarantined
            .iter()
            .map(|q| {
                format!(
                    "#{} ({} → {}: {})",
                    q.id,
                    esc(&q.start_utc),
                    esc(&q.end_utc),
                    esc(&q.problem)
                )
            })
            .collect();
        let _ = write!(
            h,
            "<div class=\"banner alarm\" id=quarantine>Skipped stored windows that cannot be read: {}. \
             Cancel them with <code>costd windows cancel ID</code> or <code>DELETE /api/v1/windows/ID</code>.</div>",
            list.join("; ")
        );
    }

    // Replicas: who leads, and since when.
    let leader = s.leadership.view();
    if leader.mode == crate::app::leadership::Mode::Replicated {
        let text = match (&leader.leader, leader.since) {
            (Some(l), Some(since)) if leader.leading => {
                format!("This replica ({}) leads since {}.", esc(l), since.to_rfc3339())
            }
            (Some(l), Some(since)) => format!(
                "Standby replica ({}): {} leads since {} and runs the schedule.",
                esc(&leader.me),
                esc(l),
                since.to_rfc3339()
            ),
            _ => format!("Standby replica ({}): no leader known yet.", esc(&leader.me)),
        };
        let _ = write!(h, "<p id=leader>{text}</p>");
    }

    // Another store's ALB in this deployment: left alone, none created beside it.
    let (conflicts, dns_problem) = {
        let st = s.status.read().await;
        (st.conflicts.clone(), st.dns_problem.clone())
    };
    if !conflicts.is_empty() {
        let list: Vec<String> = conflicts
            .iter()
            .map(|c| {
                format!(
                    "{} (store {}, until {})",
                    esc(&c.name),
                    esc(&c.store),
                    c.until.to_rfc3339()
                )
            })
            .collect();
        let _ = write!(
            h,
            "<div class=\"banner alarm\" id=conflict>Another costd store runs an ALB in this deployment: {}. \
             This daemon leaves it alone and creates none beside it; run one daemon per store, or replicas on one PostgreSQL store.</div>",
            list.join("; ")
        );
    }

    // The stable name is someone else's or points elsewhere: left alone.
    if let Some(why) = dns_problem {
        let _ = write!(
            h,
            "<div class=\"banner alarm\" id=dns-problem>The demo's stable name is left alone: {}.</div>",
            esc(&why)
        );
    }

    // Subscribed calendars that cannot be read: their last good copy stays in use.
    let calendars = s.app.calendars.read().expect("calendar status lock").clone();
    for c in calendars.iter().filter(|c| c.error.is_some()) {
        let _ = write!(
            h,
            "<div class=\"banner alarm\" id=\"calendar-{}\">Calendar <b>{}</b> could not be read{}: {}. Its last good copy stays in use; \
             windows already running are not cut short.</div>",
            esc(&c.name),
            esc(&c.name),
            c.last_success
                .map(|t| format!(
                    " (last read {})",
                    t.with_timezone(&s.cfg.timezone).format("%a %d %b %H:%M")
                ))
                .unwrap_or_default(),
            esc(c.error.as_deref().unwrap_or(""))
        );
    }

    // The month: totals, day by day against the budgets, by component.
    let budget_usd: Option<Decimal> = s.cfg.budgets.iter().find(|b| b.scope.is_none()).map(|b| b.monthly_usd);
    let (shown, month_error) = match super::api::parse_month(s, query.month.as_deref()) {
        Ok(m) => (m, None),
        Err(e) => (month, Some(e.message().to_string())),
    };
    let other_month;
    let shown_projection = if shown == month {
        latest.projection.as_ref()
    } else {
        other_month = super::api::projection_view(s, shown).await?.projection;
        Some(&other_month)
    };
    let _ = write!(
        h,
        "<section id=spend><h2>Spend, {}</h2>",
        shown.first_day().format("%B %Y")
    );
    month_picker(&mut h, shown, month);
    if let Some(e) = month_error {
        let _ = write!(h, "<p class=error id=month-error>{}; showing this month.</p>", esc(&e));
    }
    match shown_projection {
        Some(p) => {
            if shown == month {
                // This month's figures and charts change only with the projection job's
                // result: kept rendered. Other months are computed for the request.
                let key = format!("{}|{}", p.month, p.at.to_rfc3339());
                let part = s.sections.spend.get_or_render(&key, 0, || {
                    let mut h = String::with_capacity(16 * 1024);
                    spend_figures(&mut h, s, p, shown, budget_usd);
                    h
                });
                h.push_str(&part);
            } else {
                spend_figures(&mut h, s, p, shown, budget_usd);
            }
        }
        None => {
            let _ = write!(h, "<p class=muted>The first projection is being computed.</p>");
        }
    }
    let _ = write!(h, "</section>");

    // ALB state.
    let _ = write!(
        h,
        "<section id=alb><h2>Demo ALB</h2><p><span class=badge id=alb-state>{}</span> {}</p></section>",
        alb.state.as_str(),
        match (alb.name.as_deref(), alb.dns_name.as_deref()) {
            // With a stable name, people open that; the ALB's own name comes after.
            (Some(n), Some(d)) => match &s.cfg.alb.dns {
                Some(dns) => format!(
                    "{} · <a id=stable-url href=\"{url}\">{url}</a> (ALB: <a id=alb-url href=\"{alb}\">{alb}</a>)",
                    esc(n),
                    url = esc(&dns.url(s.cfg.alb.https.is_some())),
                    alb = esc(&crate::notify::schedule::alb_url(d, s.cfg.alb.https.is_some()))
                ),
                None => format!(
                    "{} · <a id=alb-url href=\"{url}\">{url}</a>",
                    esc(n),
                    url = esc(&crate::notify::schedule::alb_url(d, s.cfg.alb.https.is_some()))
                ),
            },
            (Some(n), None) => esc(n),
            _ => String::new(),
        }
    );

    // The next 14 days (windows, planned lifetimes, blackouts, gaps) and the
    // ledger: the same for every caller, kept rendered for at most a second and
    // until this process's schedule changes.
    // Rendered again each second (the clock moves the plan), and at once when the schedule changes.
    let key = s.generation.load(std::sync::atomic::Ordering::SeqCst).to_string();
    let tick = Utc::now().timestamp();
    let mut failed = None;
    let part = s.sections.days.get_or_render(&key, tick, || {
        let mut h = String::with_capacity(16 * 1024);
        if let Err(e) = next_days(&mut h, s).and_then(|()| ledger_section(&mut h, s)) {
            failed = Some(e);
        }
        h
    });
    if let Some(e) = failed {
        s.sections.days.forget();
        return Err(e);
    }
    h.push_str(&part);

    // Windows.
    let operator = caller
        .as_ref()
        .is_some_and(|c| c.role == Role::Operator && c.csrf.is_some());
    if operator {
        windows_section(&mut h, s, caller, query.booked, booking)?;
    } else {
        // Without forms the table is the same for every caller: kept like the days above.
        let mut failed = None;
        let part = s.sections.windows.get_or_render(&key, tick, || {
            let mut h = String::with_capacity(16 * 1024);
            if let Err(e) = windows_section(&mut h, s, &None, None, booking) {
                failed = Some(e);
            }
            h
        });
        if let Some(e) = failed {
            s.sections.windows.forget();
            return Err(e);
        }
        h.push_str(&part);
    }

    // Downloads, for those signed in (the API takes the session).
    if caller.is_some() {
        let _ = write!(
            h,
            "<section id=downloads><h2>Downloads</h2><p><a href=\"/api/v1/projection/items.csv?month={month}\">Line items, {month} (CSV)</a> · \
             <a href=\"/api/v1/export?month={month}\">FOCUS 1.2, {month} (CSV)</a> · \
             <a href=\"/api/v1/projection?month={month}\">projection (JSON)</a></p></section>"
        );
    }

    // Notifications that could not be delivered.
    if !s.cfg.webhooks.is_empty() {
        let dead = s.store.notifications(crate::store::NotificationState::Dead, 20)?;
        let pending = s
            .store
            .notifications(crate::store::NotificationState::Pending, 100)?
            .len();
        let _ = write!(
            h,
            "<section id=notifications><h2>Notifications</h2><p>{pending} waiting to be delivered, {} undeliverable (dead letters).</p>",
            dead.len()
        );
        if !dead.is_empty() {
            let _ = write!(
                h,
                "<table><tr><th>when</th><th>what</th><th>to</th><th class=n>tries</th><th>last error</th></tr>"
            );
            for d in &dead {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=muted>{}</td></tr>",
                    d.at.with_timezone(&s.cfg.timezone).format("%Y-%m-%d %H:%M"),
                    esc(&d.summary),
                    esc(&d.channel),
                    d.attempts,
                    esc(d.last_error.as_deref().unwrap_or(""))
                );
            }
            let _ = write!(
                h,
                "</table><p class=muted>Fix the receiver, then <code>DELETE /api/v1/notifications/dead</code> clears them.</p>"
            );
        }
        let _ = write!(h, "</section>");
    }

    // Events and where they went.
    events_section(&mut h, s, query.events.as_deref(), query.older.as_deref())?;

    // NAT vs endpoints.
    let prices = s.prices.get();
    if let Some(m) = &prices.network_model {
        let _ = write!(
            h,
            "<section id=network><h2>NAT Gateway vs VPC endpoints (730 h month)</h2>"
        );
        if let Some(curve) = &prices.network_curve {
            // Changes only with the prices: kept rendered.
            let key = format!("{:p}", std::sync::Arc::as_ptr(&prices));
            let part = s.sections.network.get_or_render(&key, 0, || {
                let mut h = String::with_capacity(8 * 1024);
                super::charts::network_chart(&mut h, curve, crate::scenario::DEFAULT_HOURS_PER_MONTH, m);
                h
            });
            h.push_str(&part);
        }
        let _ = write!(h, "<table><tr><th>option</th><th class=n>per month</th><th></th></tr>");
        for o in &m.options {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=n>{}</td><td class=muted>{}</td></tr>",
                o.name.as_str(),
                format_usd(o.monthly_usd),
                if o.feasible {
                    text_with_code(&o.summary)
                } else {
                    format!(
                        "infeasible: {}",
                        text_with_code(o.infeasible_reason.as_deref().unwrap_or(""))
                    )
                }
            );
        }
        let _ = write!(
            h,
            "</table><table><tr><th>service</th><th class=n>traffic GB/month</th><th class=n>break-even GB/month</th></tr>"
        );
        for b in &m.break_even {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                esc(&b.service),
                format_quantity(b.traffic_gb_per_month, 2),
                b.gb_per_month
                    .map(|g| format_quantity(g, 2))
                    .unwrap_or_else(|| "never".into())
            );
        }
        let _ = write!(h, "</table>");
        if prices.network_curve.is_none() {
            let _ = write!(h, "<p id=recommendation>{}</p>", text_with_code(&m.recommendation));
        }
        let _ = write!(h, "</section>");
    }

    // Who is signed in.
    match caller {
        Some(c) if c.csrf.is_some() => {
            let _ = write!(
                h,
                "<section><form method=post action=/logout><input type=hidden name=csrf value=\"{}\">Signed in as {} ({}) <button>Sign out</button></form></section>",
                esc(c.csrf.as_deref().unwrap_or("")),
                esc(&c.name),
                c.role.as_str()
            );
        }
        Some(_) => {}
        None => {
            let _ = write!(h, "<section>{}</section>", login_form());
        }
    }
    let _ = write!(
        h,
        "<p class=muted>costd · <a href=/openapi.json>API</a> · <a href=/metrics>metrics</a></p></main></body></html>"
    );
    Ok(h)
}

/// The month's figures, its day-by-day chart and its components.
fn spend_figures(
    h: &mut String,
    s: &AppState,
    p: &crate::budget::Projection,
    shown: Month,
    budget_usd: Option<Decimal>,
) {
    let _ = write!(
        h,
        "<div class=grid><div><div class=muted>Projected</div><div class=big id=projected>{}</div></div>\
         <div><div class=muted>Month to date</div><div class=big>{}</div></div>\
         <div><div class=muted>Budget</div><div class=big>{}</div></div></div>",
        format_usd(p.projected_usd),
        format_usd(p.month_to_date_usd),
        budget_usd.map(format_usd).unwrap_or_else(|| "—".into())
    );
    super::charts::month_chart(
        h,
        p,
        &shown.span(s.cfg.projection.timezone),
        &s.cfg.budgets,
        s.cfg.projection.timezone,
    );
    chart(h, p, budget_usd);
    let _ = write!(
        h,
        "<p class=muted id=partial-hour>ALB hours: {} (<code>partial_hour = \"{}\"</code>).</p>",
        p.partial_hour.describe(),
        p.partial_hour.as_str()
    );
}

/// Links to the month before and after the one shown (past months are the
/// ledger's actual figures, the next one the schedule's), this month, and a
/// field for any other.
fn month_picker(h: &mut String, shown: Month, current: Month) {
    let link = |m: Month| {
        if m == current {
            "/#spend".to_string()
        } else {
            format!("/?month={m}#spend")
        }
    };
    let _ = write!(h, "<nav id=months class=muted>");
    let _ = write!(
        h,
        "<a href=\"{}\">← {}</a> · ",
        link(shown.previous()),
        shown.previous().first_day().format("%b %Y")
    );
    if shown == current {
        let _ = write!(h, "<strong>this month</strong>");
    } else {
        let _ = write!(h, "<a href=\"{}\">this month</a>", link(current));
    }
    if shown.next() <= current.next() {
        let _ = write!(
            h,
            " · <a href=\"{}\">{} →</a>",
            link(shown.next()),
            shown.next().first_day().format("%b %Y")
        );
    }
    let _ = write!(
        h,
        " <form class=inline method=get action=/><input type=month name=month value={shown} aria-label=month> <button>Show</button></form>"
    );
    let note = if shown < current {
        " Past month: the ledger's actual figures."
    } else if shown > current {
        " Next month: the schedule's figures."
    } else {
        ""
    };
    let _ = write!(h, "{note}</nav>");
}

fn chart(h: &mut String, p: &crate::budget::Projection, budget: Option<Decimal>) {
    // One horizontal bar per component: actual (solid) then scheduled (light), to scale.
    let max = p
        .components
        .iter()
        .map(|c| c.projected_usd)
        .chain(budget)
        .max()
        .unwrap_or(Decimal::ONE)
        .max(Decimal::new(1, 2));
    let width = Decimal::from(300);
    let row = 40;
    let height = 20 + row * p.components.len() as i64;
    let _ = write!(
        h,
        "<svg id=chart class=chart viewBox=\"0 0 520 {height}\" role=img aria-label=\"spend by component\"><title>Spend by component</title><desc>{}</desc>",
        p.components
            .iter()
            .map(|c| format!(
                "{}: actual {}, scheduled {}, projected {}",
                c.component.as_str(),
                format_usd(c.actual_usd),
                format_usd(c.scheduled_usd),
                format_usd(c.projected_usd)
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    for (i, c) in p.components.iter().enumerate() {
        let y = 10 + row * i as i64;
        let a = (c.actual_usd / max * width).round().to_string();
        let sch = (c.scheduled_usd / max * width).round().to_string();
        let _ = write!(
            h,
            "<text x=0 y={ty}>{name}</text>\
             <rect class=actual x=110 y={y} width={a} height=26 fill=#0072B2><title>actual {av}</title></rect>\
             <rect class=scheduled x={sx} y={y} width={sch} height=26 fill=#56B4E9><title>scheduled {sv}</title></rect>\
             <text x={lx} y={ty}>{total}</text>",
            ty = y + 19,
            name = c.component.as_str(),
            sx = 110 + a.parse::<i64>().unwrap_or(0),
            lx = 116 + a.parse::<i64>().unwrap_or(0) + sch.parse::<i64>().unwrap_or(0),
            av = format_usd(c.actual_usd),
            sv = format_usd(c.scheduled_usd),
            total = format_usd(c.projected_usd),
        );
    }
    let _ = write!(
        h,
        "</svg><p class=muted><span style=\"color:#0072B2\">■</span> actual so far <span style=\"color:#56B4E9\">■</span> scheduled rest of month"
    );
    if let Some(b) = budget {
        let _ = write!(h, " · budget {} (all components)", format_usd(b));
    }
    let _ = write!(h, "</p>");
}

/// How many lifetimes the dashboard's ledger lists.
const LEDGER_ROWS: usize = 10;

/// The latest lifetimes (the last 31 days, at most [`LEDGER_ROWS`]): when
/// each was created, active and deleted, why, and its billed hours and cost
/// under the configured rule.
fn ledger_section(h: &mut String, s: &AppState) -> Result<(), ApiError> {
    let now = Utc::now();
    let mut ledger = s
        .store
        .lifetimes(&s.cfg.deployment, now - chrono::Duration::days(31), now)?;
    ledger.retain(|l| l.dry_run == s.cfg.dry_run);
    ledger.sort_by_key(|l| std::cmp::Reverse(l.created_at));
    let tz = s.cfg.timezone;
    let fmt = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.with_timezone(&tz).format("%a %d %b %H:%M").to_string())
            .unwrap_or_else(|| "—".into())
    };
    let prices = s.prices.get();
    let _ = write!(
        h,
        "<section id=ledger><h2>Ledger</h2><table><tr><th>ALB</th><th>created</th><th>active</th><th>deleted</th><th>why</th><th class=n>billed h</th><th class=n>cost</th></tr>"
    );
    if ledger.is_empty() {
        let _ = write!(h, "<tr><td colspan=7 class=muted>No ALB in the last 31 days.</td></tr>");
    }
    for l in ledger.iter().take(LEDGER_ROWS) {
        let end = l.deleted_at.unwrap_or(now);
        let _ = write!(
            h,
            "<tr class=lifetime><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&l.name),
            fmt(Some(l.created_at)),
            fmt(l.active_at),
            if l.deleted_at.is_some() {
                fmt(l.deleted_at)
            } else {
                "running".into()
            },
            l.reason.as_str(),
            prices.settings.billed_hours(l.created_at, end),
            format_usd(prices.settings.lifetime_usd(l.created_at, end)),
        );
    }
    let _ = write!(
        h,
        "</table><p class=muted>Billed hours and cost on their own ({}); running ones so far.</p></section>",
        prices.settings.partial_hour.describe()
    );
    Ok(())
}

/// The next [`COMING_DAYS`] local days in the deployment's zone.
fn next_days(h: &mut String, s: &AppState) -> Result<(), ApiError> {
    let now = Utc::now();
    let tz = s.cfg.timezone;
    let days = super::timeline::local_days(now, tz, COMING_DAYS as u32);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(());
    };
    let range = Interval {
        start: first.1.start,
        end: last.1.end,
    };
    let mut windows = crate::app::windows::demo_windows(&s.cfg, s.store.as_ref(), now, range.end)?;
    windows.retain(|w| w.interval.clip(&range).is_some());
    let ledger: Vec<crate::store::Lifetime> = s
        .store
        .lifetimes(&s.cfg.deployment, range.start, now)?
        .into_iter()
        .filter(|l| l.dry_run == s.cfg.dry_run)
        .collect();
    let ran: Vec<Interval> = ledger
        .iter()
        .filter_map(|l| Interval::new(l.created_at, l.deleted_at.unwrap_or(now)))
        .collect();
    let active_since = ledger
        .iter()
        .filter(|l| l.deleted_at.is_none())
        .map(|l| l.created_at)
        .min();
    let prices = s.prices.get();
    let plan = crate::schedule::planner::plan(now, &windows, active_since, &prices.settings);
    let planned: Vec<_> = plan.current.into_iter().chain(plan.upcoming).collect();
    let blackouts = s.cfg.schedule.blackouts.spans_in(&range);
    super::timeline::render(
        h,
        &super::timeline::Timeline {
            days,
            windows: &windows,
            planned: &planned,
            ran: &ran,
            blackouts: &blackouts,
            settings: &prices.settings,
            tz,
            now,
        },
    );
    Ok(())
}

/// How far ahead the dashboard lists the config's windows.
const COMING_DAYS: i64 = 14;
/// The most of them it lists.
const MAX_COMING: usize = 50;

/// A window's cost on its own in the table: billed hours, fixed cost, and
/// the hour lead and grace add, if they do.
fn cost_cell(c: &crate::schedule::planner::WindowCost) -> String {
    let extra = c.extra_hour.as_ref().map_or(String::new(), |x| {
        format!(
            " <span class=extra-hour>lead + grace add an hour: {} min shorter saves {}</span>",
            x.shorten_by_minutes,
            format_usd(x.saves_usd)
        )
    });
    format!("{} h · {}{extra}", c.billed_hours, format_usd(c.fixed_usd))
}

fn windows_section(
    h: &mut String,
    s: &AppState,
    caller: &Option<Caller>,
    booked: Option<i64>,
    booking: &Booking,
) -> Result<(), ApiError> {
    let operator = caller.as_ref().filter(|c| c.role == Role::Operator && c.csrf.is_some());
    let tz = s.cfg.timezone;
    let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %d %b %H:%M").to_string();
    let _ = write!(
        h,
        "<section id=windows><h2>Demo windows</h2><table><tr><th>id</th><th>from</th><th>to</th><th>note</th><th>ALB on its own</th><th></th></tr>"
    );
    let prices = s.prices.get();
    // Stored windows over the next 14 days (the rest: `costd windows list`, `GET /api/v1/windows`).
    let now = Utc::now();
    let ahead = Interval {
        start: now,
        end: now + chrono::Duration::days(COMING_DAYS),
    };
    let stored = s.store.windows_in(ahead)?;
    for w in stored.iter().take(MAX_COMING) {
        // As estimated when it was added: billed hours, fixed cost, and the hour lead and grace add.
        let cost = cost_cell(&crate::schedule::planner::window_cost(
            w.interval,
            &prices.settings,
            w.created_at,
        ));
        let from_calendar = w.created_by.strip_prefix("calendar:");
        let cancel = match (operator, from_calendar) {
            (_, Some(name)) => format!("<span class=muted>calendar {}</span>", esc(name)),
            (Some(c), None) => format!(
                "<form class=inline method=post action=/ui/windows/{}/cancel><input type=hidden name=csrf value=\"{}\"><button>Cancel</button></form>",
                w.id,
                esc(c.csrf.as_deref().unwrap_or(""))
            ),
            (None, None) => String::new(),
        };
        let _ = write!(
            h,
            "<tr class=window><td>w{}</td><td>{}</td><td>{}</td><td>{}</td><td>{cost}</td><td>{cancel}</td></tr>",
            w.id,
            fmt(w.interval.start),
            fmt(w.interval.end),
            esc(&w.note)
        );
    }
    // The config's windows in the next 14 days (blackouts skipped), each with its cost on its own.
    let coming = crate::schedule::planner::windows_in(&s.cfg.schedule.windows, &[], &s.cfg.schedule.blackouts, ahead);
    for w in coming.iter().filter(|w| w.interval.end > now).take(MAX_COMING) {
        let cost = cost_cell(&crate::schedule::planner::window_cost(
            w.interval,
            &prices.settings,
            now,
        ));
        let _ = write!(
            h,
            "<tr class=\"window recurring\"><td>{}</td><td>{}</td><td>{}</td><td class=muted>from the config</td><td>{cost}</td><td></td></tr>",
            esc(&w.id),
            fmt(w.interval.start),
            fmt(w.interval.end),
        );
    }
    let _ = write!(h, "</table>");
    for c in s.app.calendars.read().expect("calendar status lock").iter() {
        let read = match c.last_success {
            Some(t) => format!("read {}", fmt(t)),
            None => "not read yet".into(),
        };
        let skipped = if c.skipped.is_empty() {
            String::new()
        } else {
            format!("; left out: {}", esc(&c.skipped.join("; ")))
        };
        let _ = write!(
            h,
            "<p class=calendar>Calendar <b>{}</b> ({}): {read}, {} window(s){skipped}.</p>",
            esc(&c.name),
            esc(&c.source),
            c.windows
        );
    }
    let _ = write!(
        h,
        "<p class=muted>Windows of the next {COMING_DAYS} days{}; <code>costd windows list</code> and <code>GET /api/v1/windows</code> list them all. \
         <a href=/calendar.ics id=calendar-feed>Calendar feed (.ics)</a>.</p>",
        if stored.len() > MAX_COMING {
            format!(" (the first {MAX_COMING} of {} stored)", stored.len())
        } else {
            String::new()
        }
    );
    if coming.len() > MAX_COMING {
        let _ = write!(
            h,
            "<p class=muted>And {} more from the config in the next {COMING_DAYS} days (<code>costd windows list</code> shows them all).</p>",
            coming.len() - MAX_COMING
        );
    }
    if let Some(c) = operator {
        booking_form(h, s, c, booked, booking)?;
    }
    let _ = write!(h, "</section>");
    Ok(())
}

/// One labelled input with its error, if any, beside it.
fn field(h: &mut String, booking: &Booking, name: &str, label: &str, value: &str, hint: &str) {
    let error = booking.error(name);
    let _ = write!(
        h,
        "<div class=field><label for=book-{name}>{label}</label><input id=book-{name} name={name} value=\"{v}\"{invalid}{described}>",
        v = esc(value),
        invalid = if error.is_some() { " aria-invalid=true" } else { "" },
        described = if error.is_some() {
            format!(" aria-describedby=book-{name}-error")
        } else {
            String::new()
        },
    );
    match error {
        Some(e) => {
            let _ = write!(h, "<span class=error id=book-{name}-error>{}</span>", esc(e));
        }
        None if !hint.is_empty() => {
            let _ = write!(h, "<span class=muted>{}</span>", esc(hint));
        }
        None => {}
    }
    let _ = write!(h, "</div>");
}

/// The operator's booking form: preview the price, then book; errors beside
/// the field they concern; a confirmation with the cost after booking.
fn booking_form(
    h: &mut String,
    s: &AppState,
    c: &Caller,
    booked: Option<i64>,
    booking: &Booking,
) -> Result<(), ApiError> {
    let tz = s.cfg.timezone;
    let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %d %b %H:%M").to_string();
    let _ = write!(h, "<h2 id=book>Book a window</h2>");
    if let Some(id) = booked
        && let Ok(w) = s.store.window(id)
        && w.cancelled_at.is_none()
    {
        let prices = s.prices.get();
        let cost = crate::schedule::planner::window_cost(w.interval, &prices.settings, w.created_at);
        let _ = write!(
            h,
            "<p class=\"banner ok\" id=booked>Booked w{id}: {} → {}, {} billed h · {} on its own.</p>",
            fmt(w.interval.start),
            fmt(w.interval.end),
            cost.billed_hours,
            format_usd(cost.fixed_usd)
        );
    }
    if let Some(e) = booking.error("form") {
        let _ = write!(h, "<p class=error id=form-error>{}</p>", esc(e));
    }
    let _ = write!(
        h,
        "<form method=post action=/ui/windows#book id=booking><input type=hidden name=csrf value=\"{}\">",
        esc(c.csrf.as_deref().unwrap_or(""))
    );
    let or = |v: &str, d: &str| if v.is_empty() { d.to_string() } else { v.to_string() };
    field(
        h,
        booking,
        "start",
        "Start",
        &or(&booking.start, "now"),
        &format!("now, 2026-12-03 09:00 ({}) or RFC 3339", tz.name()),
    );
    field(
        h,
        booking,
        "duration",
        "Duration",
        &or(&booking.duration, "2h"),
        "3h, 90m, 1h30m",
    );
    field(h, booking, "note", "Note", &booking.note, "");
    let _ = write!(
        h,
        "<div class=buttons><button name=action value=preview>Preview price</button> <button name=action value=book>Book</button></div></form>"
    );
    if let Some(q) = &booking.quote {
        let e = &q.alb_cost.estimate;
        let _ = write!(
            h,
            "<div id=quote class=quote><strong>{} → {}</strong>: the ALB on its own runs {} min with lead and grace, \
             <span id=quote-hours>{}</span> billed h, <span id=quote-usd>{}</span> (hours + public IPv4; {}).",
            fmt(q.start),
            fmt(q.end),
            e.lifetime_minutes,
            e.billed_hours,
            format_usd(e.fixed_usd),
            e.partial_hour.describe()
        );
        if let Some(x) = &e.extra_hour {
            let _ = write!(
                h,
                " <span class=extra-hour id=quote-advice>Lead and grace add an hour: a window {} min shorter bills {} h and saves {}.</span>",
                x.shorten_by_minutes,
                x.billed_hours_without,
                format_usd(x.saves_usd)
            );
        }
        let _ = write!(h, " Not booked yet.</div>");
    }
    Ok(())
}

fn login_form() -> String {
    "<form method=post action=/login><label>Token <input type=password name=token autocomplete=current-password required></label> <button>Sign in</button></form>".into()
}

fn login_page(s: &AppState) -> String {
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\"><title>costd · sign in</title><style>{CSS}</style></head><body><main><h1>costd · {}</h1><section>{}</section></main></body></html>",
        esc(&s.cfg.deployment),
        login_form()
    )
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(s): State<AppState>, extensions: axum::http::Extensions, Form(f): Form<LoginForm>) -> Response {
    // The peer's address (the listener records it); behind a proxy every
    // client shares the proxy's budget, which errs on the side of refusing.
    let ip = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if let Err(wait_s) = s.logins.attempt(ip, std::time::Instant::now()) {
        tracing::warn!(client = %ip, retry_after_s = wait_s, "sign-in refused: too many attempts from this address");
        return super::limits::too_many("too many sign-in attempts; wait a minute\n", wait_s);
    }
    match s.login(&f.token) {
        Some((sid, session)) => {
            tracing::info!(token = %session.token_name, client = %ip, "signed in");
            let jar = CookieJar::new().add(super::session_cookie(sid, s.cfg.web.secure_cookies));
            (jar, Redirect::to("/")).into_response()
        }
        None => {
            tracing::warn!(client = %ip, "sign-in failed: unknown token");
            (
                StatusCode::UNAUTHORIZED,
                Html("<p>Unknown token. <a href=/>Back</a></p>"),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

fn check_csrf(caller: &Caller, token: &str) -> Result<(), ApiError> {
    match &caller.csrf {
        Some(c) if super::constant_time_eq(c.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            Some("csrf"),
            "missing or wrong CSRF token; reload the page",
        )),
    }
}

async fn logout(State(s): State<AppState>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Result<Response, ApiError> {
    let caller = s.caller(&headers).ok_or_else(ApiError::unauthorized)?;
    check_csrf(&caller, &f.csrf)?;
    s.logout(&headers)?;
    let jar = CookieJar::new().add(super::session_cookie(String::new(), s.cfg.web.secure_cookies));
    Ok((jar, Redirect::to("/")).into_response())
}

#[derive(Deserialize)]
struct WindowForm {
    csrf: String,
    start: String,
    duration: String,
    #[serde(default)]
    note: String,
    /// `preview` prices it; `book` (the default) books it.
    #[serde(default)]
    action: Option<String>,
}

/// The form's field for an error about `field`: the form has no `end` or
/// `timezone`, so those errors are about the duration or the form itself.
fn form_field(field: &str) -> &'static str {
    match field {
        "start" => "start",
        "duration" | "end" => "duration",
        "note" => "note",
        _ => "form",
    }
}

async fn ui_add_window(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<WindowForm>,
) -> Result<Response, ApiError> {
    let caller = s.require(&headers, Role::Operator)?;
    check_csrf(&caller, &f.csrf)?;
    let w = NewWindow {
        start: f.start.clone(),
        end: None,
        duration: Some(f.duration.clone()),
        note: f.note.clone(),
        timezone: None,
    };
    let mut booking = Booking {
        start: f.start,
        duration: f.duration,
        note: f.note,
        ..Booking::default()
    };
    let now = Utc::now();
    let result = match f.action.as_deref().unwrap_or("book") {
        "preview" => crate::app::windows::quote(&s.app, &w, now).map(|q| {
            booking.quote = Some(q);
            None
        }),
        "book" => crate::app::windows::add(&s.app, &w, &format!("ui:{}", caller.name), now).map(|a| Some(a.window.id)),
        other => {
            return Err(ApiError::validation(
                "action",
                format!(
                    "unknown action `{}`; valid: preview, book",
                    other.chars().take(40).collect::<String>()
                ),
            ));
        }
    };
    let caller = Some(caller);
    let status = match result {
        Ok(Some(id)) => return Ok(Redirect::to(&format!("/?booked={id}#book")).into_response()),
        Ok(None) => StatusCode::OK,
        Err(crate::app::windows::AppError::Invalid { field, message }) => {
            booking.errors.push((form_field(field), message));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => return Err(e.into()),
    };
    let html = render(&s, &caller, &PageQuery::default(), &booking).await?;
    Ok((status, Html(html)).into_response())
}

async fn ui_cancel_window(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    let caller = s.require(&headers, Role::Operator)?;
    check_csrf(&caller, &f.csrf)?;
    crate::app::windows::cancel(&s.app, id, &format!("ui:{}", caller.name), Utc::now())?;
    Ok(Redirect::to("/").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_become_code_and_everything_is_escaped() {
        assert_eq!(
            text_with_code("`endpoints_only` is the cheapest <by far> & safe"),
            "<code>endpoints_only</code> is the cheapest &lt;by far&gt; &amp; safe"
        );
        assert_eq!(text_with_code("a `<b>` c"), "a <code>&lt;b&gt;</code> c");
        assert_eq!(text_with_code("one ` alone"), "one ` alone");
        assert_eq!(text_with_code("plain"), "plain");
    }
}
