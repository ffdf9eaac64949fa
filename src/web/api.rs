//! `/api/v1`, `/openapi.json`, `/metrics`, `/healthz`, `/readyz`.
//! Reads need a viewer token, writes an operator token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::{ApiError, AppState, ErrorBody, RequireOperator, RequireViewer};
use crate::budget::Component;
use crate::config::Role;
use crate::schedule::Month;

/// The API's routes.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/api/v1/projection", get(projection))
        .route("/api/v1/export", get(export))
        .route("/api/v1/projection/items.csv", get(line_items_csv))
        .route("/api/v1/bill", get(bill))
        .route("/calendar.ics", get(calendar_feed))
        .route("/calendar/{file}", get(calendar_feed_by_secret))
        .route("/api/v1/calendars", get(calendars))
        .route("/api/v1/calendars/refresh", post(refresh_calendars))
        .route("/api/v1/windows", get(list_windows).post(create_window))
        .route("/api/v1/windows/quote", post(quote_window))
        .route("/api/v1/windows/{id}", delete(cancel_window))
        .route("/api/v1/ledger", get(ledger))
        .route("/api/v1/budgets", get(budgets))
        .route("/api/v1/model", post(model))
        .route("/api/v1/pricing", get(pricing))
        .route("/api/v1/alb", get(alb))
        .route("/api/v1/reconcile", post(reconcile))
        .route("/api/v1/notifications", get(notifications))
        .route("/api/v1/events", get(events))
        .route("/api/v1/decisions", get(decisions))
        .route("/api/v1/events/deliveries", get(deliveries))
        .route("/api/v1/events/deliveries/dead", delete(delete_dead_deliveries))
        .route("/api/v1/notify", get(destinations))
        .route("/api/v1/notifications/dead", delete(delete_dead_notifications))
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "costd", description = "AWS networking spend: demo-window ALB, projections, budgets."),
    paths(healthz, readyz, metrics, projection, line_items_csv, export, bill, calendar_feed, calendar_feed_by_secret, calendars, refresh_calendars, list_windows, create_window, quote_window, cancel_window, ledger, budgets, model, pricing, alb, reconcile, notifications, delete_dead_notifications, events, decisions, deliveries, delete_dead_deliveries, destinations),
    components(schemas(ErrorBody, crate::app::windows::NewWindow, crate::store::NotificationRecord, crate::store::NotificationState)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "up")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// The store answers and the last reconcile succeeded recently. Anyone may
/// ask; the reasons are in words, and AWS's own error text (which can name
/// the account or a role) is shown only to a viewer or operator.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
async fn readyz(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let detail = s.caller(&headers).is_some();
    if let Err(e) = s.store.external_change_marker() {
        tracing::error!(error = %e, "readiness: the store does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer\n").into_response();
    }
    let mut warnings = String::new();
    match s.store.quarantined_windows() {
        Ok(q) if !q.is_empty() => {
            let ids: Vec<String> = q.iter().map(|q| q.id.to_string()).collect();
            warnings = format!(
                "warning: {} stored window(s) cannot be read and are skipped (ids {}); `costd windows cancel ID` removes one\n",
                q.len(),
                ids.join(", ")
            );
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "readiness: listing quarantined windows"),
    }
    for c in s.app.calendars.read().expect("calendar status lock").iter() {
        if let Some(e) = &c.error {
            let why = if detail { e.as_str() } else { "it could not be read" };
            warnings.push_str(&format!(
                "warning: calendar `{}`: {why} (its last good copy stays in use)\n",
                c.name
            ));
        }
    }
    let leader = s.leadership.view();
    if leader.mode == crate::app::leadership::Mode::Replicated && !leader.leading {
        // A standby serves the dashboard and the API; the leader reconciles.
        return (
            StatusCode::OK,
            format!("ready (standby)\n{}{warnings}", leader_line(&leader)),
        )
            .into_response();
    }
    let st = s.status.read().await;
    for c in &st.conflicts {
        warnings.push_str(&format!(
            "warning: another costd store ({}) runs ALB {} until {}; this daemon leaves it alone and creates none\n",
            c.store,
            c.name,
            c.until.to_rfc3339()
        ));
    }
    if let Some(why) = &st.dns_problem {
        warnings.push_str(&format!("warning: the demo's stable name is left alone: {why}\n"));
    }
    let max_age = Duration::seconds(i64::from(s.cfg.reconcile.safety_net_seconds) * 3 + 30);
    let error = if detail {
        st.last_error.as_deref()
    } else {
        st.last_error_summary
    };
    if leader.mode == crate::app::leadership::Mode::Replicated {
        warnings.insert_str(0, &leader_line(&leader));
    }
    match readiness(st.last_ok_at, error, Utc::now(), max_age) {
        Ok(()) => (StatusCode::OK, format!("ready\n{warnings}")).into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}{warnings}")).into_response(),
    }
}

/// `leader: NAME (token N) since T` or `leader: none known`, one line.
fn leader_line(v: &crate::app::leadership::LeaderView) -> String {
    match (&v.leader, v.token, v.since) {
        (Some(l), Some(t), Some(since)) => {
            let me = if v.leading { " (this replica)" } else { "" };
            format!("leader: {l}{me} (token {t}) since {}\n", since.to_rfc3339())
        }
        _ => "leader: none known yet\n".to_string(),
    }
}

/// Ready while the last successful reconcile is at most `max_age` old: a
/// short AWS outage does not take the daemon out of rotation, a long one does.
fn readiness(
    last_ok_at: Option<chrono::DateTime<Utc>>,
    last_error: Option<&str>,
    now: chrono::DateTime<Utc>,
    max_age: Duration,
) -> Result<(), String> {
    match last_ok_at {
        Some(t) if now - t <= max_age => Ok(()),
        Some(t) => Err(format!(
            "last successful reconcile at {} ({})\n",
            t.to_rfc3339(),
            last_error.unwrap_or_default()
        )),
        None => match last_error {
            Some(e) => Err(format!("no successful reconcile yet ({e})\n")),
            None => Err("no successful reconcile yet\n".into()),
        },
    }
}

#[cfg(test)]
mod readiness_tests {
    use super::readiness;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn ready_until_the_last_success_is_older_than_the_limit() {
        let ok = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        // Safety net 5 s: limit 3 × 5 + 30 = 45 s.
        let limit = Duration::seconds(45);
        let at = |s| ok + Duration::seconds(s);
        assert_eq!(readiness(Some(ok), Some("AWS down"), at(30), limit), Ok(()));
        assert_eq!(readiness(Some(ok), None, at(45), limit), Ok(()));
        let why = readiness(Some(ok), Some("dispatch failure"), at(46), limit).unwrap_err();
        assert!(
            why.contains("2026-11-22T10:00:00") && why.contains("dispatch failure"),
            "{why}"
        );
        assert_eq!(
            readiness(None, None, at(0), limit),
            Err("no successful reconcile yet\n".to_string())
        );
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct ComponentLabel {
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct ThresholdLabel {
    threshold: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct StateLabel {
    state: String,
}

/// Metrics in the OpenMetrics text format (viewer token, or open with `public_dashboard`).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "OpenMetrics text format", content_type = "application/openmetrics-text")))]
async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    use crate::metrics::FloatGauge;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    // Open to anyone with a public dashboard, else a viewer token.
    if !s.cfg.web.public_dashboard {
        s.require(&headers, Role::Viewer)?;
    }
    let mut registry = crate::metrics::registry();
    let latest = s.latest.read().await.clone();
    let projected = Family::<ComponentLabel, FloatGauge>::default();
    let to_date = Family::<ComponentLabel, FloatGauge>::default();
    if let Some(p) = &latest.projection {
        let scopes = std::iter::once(("all", None)).chain(Component::ALL.iter().map(|c| (c.as_str(), Some(*c))));
        for (name, scope) in scopes {
            let (mtd, proj) = p.totals(scope);
            let label = ComponentLabel {
                component: name.to_string(),
            };
            // Decimals become floats only here, for the exposition format.
            projected.get_or_create(&label).set(crate::money::usd_to_f64(proj));
            to_date.get_or_create(&label).set(crate::money::usd_to_f64(mtd));
        }
    }
    registry.register("costd_projected_spend_usd", "Projected spend this month", projected);
    registry.register("costd_month_to_date_spend_usd", "Spend so far this month", to_date);
    let alarms = Family::<ThresholdLabel, Gauge>::default();
    for e in &latest.evaluations {
        let label = ThresholdLabel {
            threshold: e.key.clone(),
        };
        alarms
            .get_or_create(&label)
            .set(i64::from(e.state == crate::budget::AlarmState::Alarm));
    }
    registry.register("costd_budget_alarm", "1 while a budget threshold is in ALARM", alarms);
    let state = crate::app::views::alb_state(&s.app).await?;
    let alb = Family::<StateLabel, Gauge>::default();
    for phase in crate::app::views::AlbPhase::ALL {
        let label = StateLabel {
            state: phase.as_str().to_string(),
        };
        alb.get_or_create(&label).set(i64::from(state.state == phase));
    }
    registry.register("costd_alb_state", "1 for the ALB's current state", alb);
    let window_rows = prometheus_client::metrics::counter::Counter::<u64>::default();
    window_rows.inc_by(s.store.window_rows_read());
    registry.register(
        "costd_store_window_rows_read",
        "Window rows the store has read since the daemon started (bounded reads keep this small)",
        window_rows,
    );
    let conflicts = Gauge::<i64>::default();
    conflicts.set(s.status.read().await.conflicts.len() as i64);
    registry.register(
        "costd_conflicts",
        "Other costd stores' ALBs in this deployment, left alone",
        conflicts,
    );
    let leader = s.leadership.view();
    let leading = Gauge::<i64>::default();
    leading.set(i64::from(leader.leading));
    registry.register(
        "costd_leader",
        "1 while this process leads (reconciles, publishes, delivers); 0 on a standby replica",
        leading,
    );
    if let Some(token) = leader.token {
        let g = Gauge::<i64>::default();
        g.set(token);
        registry.register(
            "costd_lease_token",
            "The leader lease's fencing token (grows at each change of leader)",
            g,
        );
    }
    if let Some(since) = leader.since {
        let g = Gauge::<i64>::default();
        g.set(since.timestamp());
        registry.register(
            "costd_leader_since_timestamp_seconds",
            "When the current leader took over (Unix time)",
            g,
        );
    }
    Ok((
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::encode(&registry),
    )
        .into_response())
}

#[derive(Deserialize)]
struct MonthQuery {
    month: Option<String>,
}

/// How far from now a `?month=` may be, in years.
pub const MONTH_RANGE_YEARS: i32 = 10;

fn month(s: &AppState, q: &MonthQuery) -> Result<Month, ApiError> {
    parse_month(s, q.month.as_deref())
}

/// `?month=`: `YYYY-MM` within [`MONTH_RANGE_YEARS`] of now; none is the current month.
pub(crate) fn parse_month(s: &AppState, month: Option<&str>) -> Result<Month, ApiError> {
    let now = Month::containing(Utc::now(), s.cfg.projection.timezone);
    match month {
        Some(m) => {
            let m = Month::parse(m).map_err(|e| ApiError::validation("month", format!("{e}; expected YYYY-MM")))?;
            if !m.is_within_years_of(now, MONTH_RANGE_YEARS) {
                return Err(ApiError::validation(
                    "month",
                    format!("{m} is more than {MONTH_RANGE_YEARS} years from {now}; ask for a month within that range"),
                ));
            }
            Ok(m)
        }
        None => Ok(now),
    }
}

/// This month's (or `?month=YYYY-MM`'s) projection by component, with budget evaluations.
#[utoipa::path(get, path = "/api/v1/projection", params(("month" = Option<String>, Query, description = "YYYY-MM")),
    responses((status = 200, description = "the projection and the budget evaluations", body = crate::app::views::ProjectionView),
              (status = 422, description = "not a month, or more than 10 years away", body = ErrorBody),
              (status = 429, description = "too many expensive requests at once", body = ErrorBody),
              (status = 503, description = "the computation ran past its deadline", body = ErrorBody)), security(("token" = [])))]
async fn projection(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    Query(q): Query<MonthQuery>,
) -> Result<Response, ApiError> {
    let m = month(&s, &q)?;
    // This month's answer is the same for every viewer until the projection
    // job runs again: serialized once per run, not per request.
    {
        let latest = s.latest.read().await;
        if let Some(p) = latest.projection.as_ref().filter(|p| p.month == m.to_string()) {
            let key = format!("{}|{}", p.month, p.at.to_rfc3339());
            let body = s.sections.projection_json.get_or_render(&key, 0, || {
                serde_json::to_string(&crate::app::views::ProjectionViewRef {
                    projection: p,
                    budgets: &latest.evaluations,
                })
                .expect("a projection serializes")
            });
            return Ok(([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response());
        }
    }
    Ok(Json(projection_view(&s, m).await?).into_response())
}

/// `m`'s projection and budget evaluations: the current month from the
/// projection job's cache (none before its first run), any other computed on
/// the blocking pool within the expensive-request limits.
pub(crate) async fn projection_view(s: &AppState, m: Month) -> Result<crate::app::views::ProjectionView, ApiError> {
    let latest = s.latest.read().await.clone();
    if let Some(p) = latest.projection.filter(|p| p.month == m.to_string()) {
        return Ok(crate::app::views::ProjectionView {
            projection: p,
            budgets: latest.evaluations,
        });
    }
    let app = s.app.clone();
    let at = Utc::now();
    let view = s
        .expensive
        .run(move || {
            tokio::runtime::Handle::current().block_on(crate::app::projection::month_view::<
                crate::aws::cloudwatch::SdkCloudWatch,
            >(&app, None, m, at))
        })
        .await??;
    Ok(view)
}

/// The month's charges as FOCUS 1.2 CSV (actual rows billed, the rest marked projected).
#[utoipa::path(get, path = "/api/v1/export", params(("month" = Option<String>, Query, description = "YYYY-MM; default the current month")),
    responses((status = 200, description = "FOCUS 1.2 columns, CSV", content_type = "text/csv")), security(("token" = [])))]
async fn export(State(s): State<AppState>, _viewer: RequireViewer, q: Query<MonthQuery>) -> Result<Response, ApiError> {
    let m = month(&s, &q)?;
    let view = projection_view(&s, m).await?;
    let csv = crate::app::export::focus_csv(&s.app, &view.projection, m);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"costd-focus-{m}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

/// The demo windows as an iCalendar feed (the past `[calendar_feed] past_days`
/// and the next `future_days`), with each window's cost and ALB, and the blackouts.
#[utoipa::path(get, path = "/calendar.ics",
    responses((status = 200, description = "RFC 5545 iCalendar", content_type = "text/calendar")), security(("token" = [])))]
async fn calendar_feed(State(s): State<AppState>, _viewer: RequireViewer) -> Result<Response, ApiError> {
    ics_response(&s)
}

/// The same feed at a secret address (`/calendar/<token>.ics`, the token
/// from `[calendar_feed] token_env`), for calendar apps that cannot send a
/// header. Any other address is 404, as if there were none.
#[utoipa::path(get, path = "/calendar/{file}", params(("file" = String, Path, description = "`<token>.ics`")),
    responses((status = 200, description = "RFC 5545 iCalendar", content_type = "text/calendar"),
              (status = 404, description = "no such feed", body = ErrorBody)))]
async fn calendar_feed_by_secret(State(s): State<AppState>, Path(file): Path<String>) -> Result<Response, ApiError> {
    use subtle::ConstantTimeEq;
    let given = file.strip_suffix(".ics").unwrap_or("");
    let ok = s
        .app
        .cfg
        .calendar_feed
        .token
        .as_deref()
        .is_some_and(|t| t.len() == given.len() && bool::from(t.as_bytes().ct_eq(given.as_bytes())));
    if !ok {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            None,
            "no such calendar feed",
        ));
    }
    ics_response(&s)
}

fn ics_response(s: &AppState) -> Result<Response, ApiError> {
    let body = crate::app::calendars::feed(&s.app, (s.app.clock)())?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}

/// Each subscribed calendar (`[[schedule.calendars]]`): when it was last
/// read, the last error (its last good copy stays in use), its windows and
/// the matching events left out.
#[utoipa::path(get, path = "/api/v1/calendars",
    responses((status = 200, description = "one per calendar, in config order", body = [crate::app::calendars::CalendarStatus])), security(("token" = [])))]
async fn calendars(
    State(s): State<AppState>,
    _viewer: RequireViewer,
) -> Json<Vec<crate::app::calendars::CalendarStatus>> {
    Json(s.app.calendars.read().expect("calendar status lock").clone())
}

/// Reads every subscribed calendar now rather than at its next refresh (after
/// editing a demo in the calendar). Answers at once; `GET /api/v1/calendars`
/// shows each read's `last_attempt` and outcome.
#[utoipa::path(post, path = "/api/v1/calendars/refresh",
    responses((status = 202, description = "the calendars will be read now"),
              (status = 404, description = "no calendar is subscribed", body = ErrorBody)), security(("token" = [])))]
async fn refresh_calendars(State(s): State<AppState>, _operator: RequireOperator) -> Result<Response, ApiError> {
    if s.app.cfg.schedule.calendars.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            None,
            "no calendar is subscribed: add [[schedule.calendars]] to the config",
        ));
    }
    s.app.calendar_kick.notify_one();
    Ok((StatusCode::ACCEPTED, "reading the calendars now\n").into_response())
}

/// The daemon's last bill check (`[billing] check_cron`): what AWS billed
/// for the load balancer beside the ledger's prediction and the month's projections.
#[utoipa::path(get, path = "/api/v1/bill",
    responses((status = 200, description = "the last check", body = crate::app::bill::BillChecks),
              (status = 404, description = "no check has run yet", body = ErrorBody)), security(("token" = [])))]
async fn bill(State(s): State<AppState>, _viewer: RequireViewer) -> Result<Json<serde_json::Value>, ApiError> {
    crate::app::bill::last_check(s.app.store.as_ref())?
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                None,
                "no bill check has run yet: the daemon checks the bill when [billing] check_cron is set (off by \
             default), or run `costd bill`",
            )
        })
}

/// The month's line items as CSV (component, actual or scheduled, quantity,
/// unit, rate, cost, usage type, sources): the figures behind the projection.
#[utoipa::path(get, path = "/api/v1/projection/items.csv", params(("month" = Option<String>, Query, description = "YYYY-MM; default the current month")),
    responses((status = 200, description = "one row per line item, CSV", content_type = "text/csv")), security(("token" = [])))]
async fn line_items_csv(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    q: Query<MonthQuery>,
) -> Result<Response, ApiError> {
    let m = month(&s, &q)?;
    let view = projection_view(&s, m).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"costd-items-{m}.csv\""),
            ),
        ],
        crate::budget::focus::line_items_csv(&view.projection),
    )
        .into_response())
}

/// A page of stored windows (by start, then id), quarantined rows and the
/// ALB lifetimes planned for the next 7 days.
#[utoipa::path(get, path = "/api/v1/windows", params(
        ("all" = Option<bool>, Query, description = "include cancelled windows (default true)"),
        ("from" = Option<String>, Query, description = "only windows ending after this: now, RFC 3339 or local YYYY-MM-DD HH:MM (default: 24 hours ago)"),
        ("limit" = Option<u32>, Query, description = "windows per page, 1–500 (default 100)"),
        ("cursor" = Option<String>, Query, description = "the previous page's `next`")),
    responses((status = 200, description = "one page of windows; `next` is the following page's cursor", body = crate::app::windows::WindowList),
              (status = 422, description = "`from`, `limit` or `cursor` invalid, naming it", body = ErrorBody)), security(("token" = [])))]
async fn list_windows(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    Query(q): Query<ListQuery>,
) -> Result<Json<crate::app::windows::WindowList>, ApiError> {
    let page = crate::app::windows::PageRequest {
        from: q.from,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(crate::app::windows::list(
        &s.app,
        q.all.unwrap_or(true),
        &page,
        Utc::now(),
    )?))
}

#[derive(Deserialize)]
struct ListQuery {
    all: Option<bool>,
    from: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Parses a JSON body: syntax errors are 400, wrong or missing fields 422 naming the field.
fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                None,
                format!("malformed JSON at line {} column {}: {e}", e.line(), e.column()),
            ),
            Category::Data => {
                let msg = e.to_string();
                let field = msg.split('`').nth(1).unwrap_or("body").to_string();
                ApiError::validation(&field, msg)
            }
        }
    })
}

/// Adds a one-off window (operator, Bearer token).
#[utoipa::path(post, path = "/api/v1/windows", request_body = crate::app::windows::NewWindow,
    responses((status = 201, description = "added, with what its ALB costs on its own", body = crate::app::windows::AddedWindow),
              (status = 400, description = "malformed JSON", body = ErrorBody), (status = 401, description = "no Bearer token", body = ErrorBody),
              (status = 403, description = "not an operator", body = ErrorBody), (status = 413, description = "body too large"),
              (status = 422, description = "invalid, naming the field", body = ErrorBody)), security(("token" = [])))]
async fn create_window(
    State(s): State<AppState>,
    RequireOperator(caller): RequireOperator,
    body: Bytes,
) -> Result<(StatusCode, Json<crate::app::windows::AddedWindow>), ApiError> {
    let w: crate::app::windows::NewWindow = json_body(&body)?;
    let added = crate::app::windows::add(&s.app, &w, &format!("api:{}", caller.name), Utc::now())?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Prices a one-off window without booking it (viewer or operator): refused
/// with the same words as `POST /api/v1/windows`, nothing stored.
#[utoipa::path(post, path = "/api/v1/windows/quote", request_body = crate::app::windows::NewWindow,
    responses((status = 200, description = "what its ALB would cost on its own", body = crate::app::windows::WindowQuote),
              (status = 400, description = "malformed JSON", body = ErrorBody), (status = 401, description = "no Bearer token", body = ErrorBody),
              (status = 413, description = "body too large"),
              (status = 422, description = "invalid, naming the field", body = ErrorBody)), security(("token" = [])))]
async fn quote_window(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    body: Bytes,
) -> Result<Json<crate::app::windows::WindowQuote>, ApiError> {
    let w: crate::app::windows::NewWindow = json_body(&body)?;
    Ok(Json(crate::app::windows::quote(&s.app, &w, Utc::now())?))
}

/// Cancels a stored window, or a quarantined row (operator, Bearer token).
#[utoipa::path(delete, path = "/api/v1/windows/{id}", params(("id" = i64, Path, description = "window id")),
    responses((status = 200, description = "cancelled", body = crate::app::windows::CancelledView),
              (status = 404, description = "no such window", body = ErrorBody), (status = 409, description = "already cancelled", body = ErrorBody)),
    security(("token" = [])))]
async fn cancel_window(
    State(s): State<AppState>,
    RequireOperator(caller): RequireOperator,
    Path(id): Path<String>,
) -> Result<Json<crate::app::windows::CancelledView>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::validation("id", format!("`{id}` is not a window id (a whole number)")))?;
    Ok(Json(crate::app::windows::cancel(
        &s.app,
        id,
        &format!("api:{}", caller.name),
        Utc::now(),
    )?))
}

/// ALB lifetimes of the month (`?month=YYYY-MM`).
#[utoipa::path(get, path = "/api/v1/ledger", params(("month" = Option<String>, Query, description = "YYYY-MM")),
    responses((status = 200, description = "the month's ALB lifetimes", body = crate::app::views::LedgerView),
              (status = 422, description = "not a month, or more than 10 years away", body = ErrorBody)), security(("token" = [])))]
async fn ledger(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    Query(q): Query<MonthQuery>,
) -> Result<Json<crate::app::views::LedgerView>, ApiError> {
    let span = month(&s, &q)?.span(s.cfg.projection.timezone);
    let lifetimes = s.store.lifetimes(&s.cfg.deployment, span.start, span.end)?;
    Ok(Json(crate::app::views::LedgerView { lifetimes }))
}

/// Budgets, their thresholds' states and recent transitions.
#[utoipa::path(get, path = "/api/v1/budgets",
    responses((status = 200, description = "budgets, states and the latest 50 transitions", body = crate::app::views::BudgetsView)), security(("token" = [])))]
async fn budgets(
    State(s): State<AppState>,
    _viewer: RequireViewer,
) -> Result<Json<crate::app::views::BudgetsView>, ApiError> {
    Ok(Json(crate::app::views::BudgetsView {
        budgets: s.cfg.budgets.clone(),
        states: s.store.alarm_states()?.into_values().collect(),
        transitions: s.store.transitions(50)?,
    }))
}

/// Prices a scenario (TOML body, the `costd model` format); returns the `costd model --format json` result.
#[utoipa::path(post, path = "/api/v1/model", request_body(content = String, content_type = "application/toml"),
    responses((status = 200, description = "the `costd model --format json` result", body = crate::model::ModelReport),
              (status = 413, description = "body too large"), (status = 422, description = "invalid scenario, naming the key", body = ErrorBody),
              (status = 429, description = "too many expensive requests at once", body = ErrorBody),
              (status = 503, description = "the computation ran past its deadline", body = ErrorBody)), security(("token" = [])))]
async fn model(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    body: Bytes,
) -> Result<Json<crate::model::ModelReport>, ApiError> {
    let book = s.prices.get().book.clone();
    // Parsing and pricing run on the blocking pool, within the expensive-request limits.
    let report = s
        .expensive
        .run(move || -> Result<_, ApiError> {
            let text = std::str::from_utf8(&body)
                .map_err(|_| ApiError::validation("body", "the scenario must be UTF-8 TOML"))?;
            let scenario = crate::scenario::Scenario::parse("request body", text, &book.regions()).map_err(|e| {
                let field = if e.key.is_empty() {
                    "body".to_string()
                } else {
                    e.key.clone()
                };
                ApiError::validation(&field, e.to_string())
            })?;
            let prices = book
                .get(&scenario.region)
                .ok_or_else(|| ApiError::internal("region checked by parse"))?;
            Ok(crate::model::evaluate(&scenario, prices, Utc::now()))
        })
        .await??;
    Ok(Json(report))
}

/// The price table in use for the deployment's region, and the regions available.
#[utoipa::path(get, path = "/api/v1/pricing",
    responses((status = 200, description = "the table in use and the regions available", body = crate::app::views::PricingView)), security(("token" = [])))]
async fn pricing(
    State(s): State<AppState>,
    _viewer: RequireViewer,
) -> Result<Json<crate::app::views::PricingView>, ApiError> {
    let prices = s.prices.get();
    Ok(Json(crate::app::views::PricingView {
        region: s.cfg.region.clone(),
        table: prices.table().clone(),
        regions: prices.book.regions().iter().map(|r| r.to_string()).collect(),
    }))
}

/// The ALB's state now.
#[utoipa::path(get, path = "/api/v1/alb",
    responses((status = 200, description = "absent, creating, active (with its DNS name) or deleting", body = crate::app::views::AlbState)), security(("token" = [])))]
async fn alb(State(s): State<AppState>, _viewer: RequireViewer) -> Result<Json<crate::app::views::AlbState>, ApiError> {
    Ok(Json(crate::app::views::alb_state(&s.app).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Accepted {
    status: &'static str,
}

/// Triggers a reconcile now (operator).
#[utoipa::path(post, path = "/api/v1/reconcile",
    responses((status = 202, description = "a reconcile will run now", body = Accepted), (status = 401, description = "no Bearer token", body = ErrorBody),
              (status = 403, description = "not an operator", body = ErrorBody)), security(("token" = [])))]
async fn reconcile(
    State(s): State<AppState>,
    RequireOperator(caller): RequireOperator,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    tracing::info!(by = %caller.name, "reconcile requested");
    s.kick.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "reconcile requested",
        }),
    ))
}

#[derive(Deserialize)]
struct NotificationQuery {
    state: Option<crate::store::NotificationState>,
}

/// Webhook notifications by state (`pending`, `delivered`, `dead`; default
/// `pending`), newest first, at most 100. URLs never appear: a channel is
/// `webhook:<name>` and errors are redacted.
#[utoipa::path(get, path = "/api/v1/notifications", params(("state" = Option<String>, Query, description = "pending, delivered or dead")),
    responses((status = 200, description = "notifications in that state", body = [crate::store::NotificationRecord]),
              (status = 400, description = "not a state", body = ErrorBody)), security(("token" = [])))]
async fn notifications(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    Query(q): Query<NotificationQuery>,
) -> Result<Json<Vec<crate::store::NotificationRecord>>, ApiError> {
    let state = q.state.unwrap_or(crate::store::NotificationState::Pending);
    Ok(Json(s.store.notifications(state, 100)?))
}

#[derive(Deserialize)]
struct EventQuery {
    kind: Option<String>,
    limit: Option<u32>,
    before: Option<String>,
}

/// A `limit` query argument: 1–[`MAX_LISTED`], default 50.
fn listed(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_LISTED).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("{limit} is out of range; expected 1–{MAX_LISTED}"),
        ));
    }
    Ok(limit)
}

/// `Link: <path?query>; rel="next"` (RFC 8288), the query's pairs in order.
fn link_next(path: &str, pairs: &[(&str, String)]) -> (header::HeaderName, String) {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    (header::LINK, format!("<{path}?{}>; rel=\"next\"", q.finish()))
}

/// The most events or deliveries one request lists.
const MAX_LISTED: u32 = 200;

/// Recent events, newest first (`kind` filters; `limit` 1–200, default 50;
/// `before` an event id: the page older than it): budget transitions and the
/// schedule's own events, whether or not a destination wanted them. A full
/// page carries `Link: <…>; rel="next"` to the page after it.
#[utoipa::path(get, path = "/api/v1/events",
    params(("kind" = Option<String>, Query, description = "an event kind, e.g. alb_ready"), ("limit" = Option<u32>, Query, description = "1–200, default 50"),
           ("before" = Option<String>, Query, description = "an event id: the events older than it (the `Link` header's next page)")),
    responses((status = 200, description = "events; a `Link` header with rel=\"next\" when more may follow", body = [crate::event::Event]),
              (status = 422, description = "not a kind, the limit out of range, or `before` too long", body = ErrorBody)), security(("token" = [])))]
async fn events(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    Query(q): Query<EventQuery>,
) -> Result<Response, ApiError> {
    let kind = match q.kind.as_deref() {
        None => None,
        Some(k) => Some(crate::event::EventKind::parse(k).ok_or_else(|| {
            ApiError::validation(
                "kind",
                format!(
                    "`{k}` is not an event kind; expected one of {}",
                    crate::event::EventKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            )
        })?),
    };
    let limit = listed(q.limit)?;
    if q.before.as_ref().is_some_and(|b| b.len() > crate::event::MAX_ID_BYTES) {
        return Err(ApiError::validation(
            "before",
            format!("longer than {} bytes; expected an event id", crate::event::MAX_ID_BYTES),
        ));
    }
    let events = s.store.events(kind, q.before.as_deref(), limit)?;
    let next = match events.last() {
        Some(last) if events.len() == limit as usize => {
            let mut pairs = vec![("limit", limit.to_string()), ("before", last.id.clone())];
            if let Some(k) = kind {
                pairs.insert(0, ("kind", k.as_str().to_string()));
            }
            Some(link_next("/api/v1/events", &pairs))
        }
        _ => None,
    };
    Ok((AppendHeaders(next), Json(events)).into_response())
}

#[derive(Deserialize)]
struct DecisionQuery {
    limit: Option<u32>,
    before: Option<i64>,
}

/// Reconcile decisions, newest first: what the daemon did (or, in dry-run,
/// would have done) and why; `limit` 1–200 (default 50), `before` a
/// decision id (the page older than it). Kept per `[retention]`.
#[utoipa::path(get, path = "/api/v1/decisions",
    params(("limit" = Option<u32>, Query, description = "1–200, default 50"), ("before" = Option<i64>, Query, description = "a decision id: the decisions older than it (the page's `next`)")),
    responses((status = 200, description = "a page of decisions; `next` is the following page's `before`, or null", body = crate::app::views::DecisionPage),
              (status = 422, description = "the limit out of range", body = ErrorBody)), security(("token" = [])))]
async fn decisions(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    Query(q): Query<DecisionQuery>,
) -> Result<Json<crate::app::views::DecisionPage>, ApiError> {
    let limit = listed(q.limit)?;
    let found = s.store.decisions_page(q.before, limit + 1)?;
    Ok(Json(crate::app::views::DecisionPage::new(found, limit)))
}

/// Event deliveries by state (`pending`, `delivered`, `dead`; default
/// `pending`), newest first, at most 200. Destinations are named, never
/// their URLs or keys; errors are redacted.
#[utoipa::path(get, path = "/api/v1/events/deliveries", params(("state" = Option<String>, Query, description = "pending, delivered or dead")),
    responses((status = 200, description = "deliveries in that state", body = [crate::store::DeliveryRecord]),
              (status = 400, description = "not a state", body = ErrorBody)), security(("token" = [])))]
async fn deliveries(
    State(s): State<AppState>,
    _viewer: RequireViewer,
    Query(q): Query<NotificationQuery>,
) -> Result<Json<Vec<crate::store::DeliveryRecord>>, ApiError> {
    let state = q.state.unwrap_or(crate::store::NotificationState::Pending);
    Ok(Json(s.store.deliveries(state, MAX_LISTED)?))
}

/// Deletes the dead event deliveries (operator): after their cause is fixed, or once read.
#[utoipa::path(delete, path = "/api/v1/events/deliveries/dead",
    responses((status = 200, description = "how many were deleted", body = Deleted), (status = 401, description = "no Bearer token", body = ErrorBody)),
    security(("token" = [])))]
async fn delete_dead_deliveries(
    State(s): State<AppState>,
    RequireOperator(caller): RequireOperator,
) -> Result<Json<Deleted>, ApiError> {
    let deleted = s.store.delete_dead_deliveries()?;
    tracing::info!(by = %caller.name, deleted, "dead event deliveries deleted");
    Ok(Json(Deleted { deleted }))
}

/// A `[[notify]]` destination: what it gets and how it has fared.
#[derive(Serialize, utoipa::ToSchema)]
struct DestinationView {
    /// Its name.
    name: String,
    /// slack, teams, pagerduty or webhook.
    kind: String,
    /// The event kinds it gets (empty: all).
    kinds: Vec<crate::event::EventKind>,
    /// The least severity it gets.
    min_severity: crate::event::Severity,
    /// The last delivery it accepted.
    last_delivered_at: Option<chrono::DateTime<Utc>>,
    /// The last failed attempt's error (redacted).
    last_error: Option<String>,
    /// When that was.
    last_error_at: Option<chrono::DateTime<Utc>>,
    /// Deliveries waiting.
    pending: u32,
    /// Dead letters.
    dead: u32,
}

/// The `[[notify]]` destinations with their last success and last error.
#[utoipa::path(get, path = "/api/v1/notify",
    responses((status = 200, description = "destinations", body = [DestinationView])), security(("token" = [])))]
async fn destinations(
    State(s): State<AppState>,
    _viewer: RequireViewer,
) -> Result<Json<Vec<DestinationView>>, ApiError> {
    let status = s.store.destination_status()?;
    Ok(Json(
        s.app
            .cfg
            .notify
            .iter()
            .map(|d| {
                let st = status.iter().find(|x| x.destination == d.name);
                DestinationView {
                    name: d.name.clone(),
                    kind: d.kind.as_str().into(),
                    kinds: d.kinds.iter().flatten().copied().collect(),
                    min_severity: d.min_severity,
                    last_delivered_at: st.and_then(|x| x.last_delivered_at),
                    last_error: st.and_then(|x| x.last_error.clone()),
                    last_error_at: st.and_then(|x| x.last_error_at),
                    pending: st.map_or(0, |x| x.pending),
                    dead: st.map_or(0, |x| x.dead),
                }
            })
            .collect(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Deleted {
    deleted: usize,
}

/// Deletes the dead letters (operator): after their cause is fixed, or once read.
#[utoipa::path(delete, path = "/api/v1/notifications/dead",
    responses((status = 200, description = "how many were deleted", body = Deleted), (status = 401, description = "no Bearer token", body = ErrorBody)),
    security(("token" = [])))]
async fn delete_dead_notifications(
    State(s): State<AppState>,
    RequireOperator(caller): RequireOperator,
) -> Result<Json<Deleted>, ApiError> {
    let deleted = s.store.delete_dead_notifications()?;
    tracing::info!(by = %caller.name, deleted, "dead letters deleted");
    Ok(Json(Deleted { deleted }))
}
