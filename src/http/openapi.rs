//! The OpenAPI 3 document of every endpoint, written by hand (a test checks every route of
//! the router is in it).

use serde_json::{Value, json};

fn error_responses(codes: &[u16]) -> Value {
    let mut map = serde_json::Map::new();
    for code in codes {
        let description = match code {
            400 => "malformed JSON, invalid UTF-8 or a bad parameter",
            401 => "missing or wrong bearer token",
            404 => "unknown conversation, ticket or agent",
            409 => "conflicts with the ticket's state (claimed by someone else, not yours...)",
            413 => "body over the limit, or message over the maximum length",
            422 => "empty message or invalid value",
            429 => "rate-limited or the model is overloaded; see Retry-After",
            503 => "the model or the database is not answering",
            _ => "error",
        };
        map.insert(
            code.to_string(),
            json!({
                "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
            }),
        );
    }
    Value::Object(map)
}

fn with_errors(ok: Value, codes: &[u16]) -> Value {
    let mut responses = error_responses(codes);
    if let (Value::Object(r), Value::Object(ok)) = (&mut responses, ok) {
        r.extend(ok);
    }
    responses
}

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn ok_json(description: &str, schema: Value) -> Value {
    json!({ "200": { "description": description, "content": { "application/json": { "schema": schema } } } })
}

fn id_param(description: &str) -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" }, "description": description })
}

const AGENT_ERRORS: &[u16] = &[400, 401, 404, 409, 413, 422];
const CUSTOMER_ERRORS: &[u16] = &[400, 404, 413, 422, 429, 503];

/// The document served at `/openapi.json`.
///
/// Long because it is the document itself, one operation per entry, in the router's order;
/// `tests/it/openapi.rs` holds it to the router both ways (every route documented, every
/// documented operation served).
pub fn document() -> Value {
    let events = json!({ "type": "object", "properties": {
        "conversation_id": { "type": "string" },
        "events": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } } } });
    let ticket = json!({ "$ref": "#/components/schemas/Ticket" });
    let summary = json!({ "$ref": "#/components/schemas/TicketSummary" });
    let page = |summary: &str, media: &str| {
        json!({ "get": { "tags": ["ui"], "summary": format!("{summary} (off with --no-ui); ETag, If-None-Match → 304, CSP on HTML"),
            "responses": { "200": { "description": "the page", "content": { media: { "schema": { "type": "string" } } } },
                "304": { "description": "not modified (If-None-Match)" }, "404": { "description": "--no-ui" } } } })
    };
    let bearer = json!([{ "agentToken": [] }]);
    let agent_ticket_action = |summary: &str, body: Option<Value>, ok: Value| {
        let mut op = json!({
            "tags": ["agent"], "summary": summary, "security": bearer,
            "parameters": [id_param("ticket id, e.g. T-000042")],
            "responses": with_errors(ok, AGENT_ERRORS),
        });
        if let Some(body) = body {
            op["requestBody"] = body;
        }
        json!({ "post": op })
    };
    let text_body = json_body(
        json!({ "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } }),
    );
    // The workspace's endpoints and the pages, in a second document (one json! of every
    // path exceeds the macro recursion limit), merged into `paths` below.
    let workspace = json!({
            "/v1/agent/tickets": { "get": {
                "tags": ["agent"], "summary": "Every open ticket: waiting ones first in queue order, then assigned ones", "security": bearer,
                "parameters": [{ "name": "assigned_to", "in": "query", "schema": { "type": "string", "enum": ["me"] }, "description": "only the caller's tickets" }],
                "responses": with_errors(ok_json("open tickets", json!({ "type": "object", "properties": {
                    "tickets": { "type": "array", "items": summary.clone() } } })), &[400, 401])
            } },
            "/v1/agent/tickets/{id}/transfer": agent_ticket_action(
                "Transfer (owner only) to another online agent, or back to the queue with {\"to\": null}; 404 unknown agent, 409 offline agent or not your ticket",
                Some(json_body(json!({ "type": "object", "required": ["to"], "properties": { "to": { "type": "string", "nullable": true, "description": "agent id, or null for the queue" } } }))),
                ok_json("the ticket's summary", summary.clone())),
            "/v1/agent/me": { "get": {
                "tags": ["agent"], "summary": "The caller's presence, capacity and load", "security": bearer,
                "responses": with_errors(ok_json("the agent", json!({ "$ref": "#/components/schemas/AgentStatus" })), &[401])
            } },
            "/v1/agent/stats": { "get": {
                "tags": ["agent"], "summary": "The supervisor strip: queue, agents, today's figures (since midnight UTC)", "security": bearer,
                "responses": with_errors(ok_json("figures", json!({ "$ref": "#/components/schemas/DeskStats" })), &[401])
            } },
            "/": page("The widget demo page (a fictional exchange embedding widget.js)", "text/html"),
            "/agent": page("The agent workspace", "text/html"),
            "/widget.js": page("The embeddable chat widget: <script src=\".../widget.js\" data-server data-locale data-title data-color>", "text/javascript"),
            "/assets/{name}": { "get": {
                "tags": ["ui"], "summary": "A file of the pages (scripts, styles, images); ETag and Cache-Control: public, max-age=300",
                "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "the file" }, "304": { "description": "not modified (If-None-Match)" }, "404": { "description": "no such file, or --no-ui" } } } },
    });
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "intentdesk",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Support chatbot backend: intent classification, chat (REST and WebSocket), agent queue. Customer texts are stored and returned with secrets masked."
        },
        "paths": {
            "/v1/classify": { "post": {
                "tags": ["model"], "summary": "Classify one message or a batch (batched with concurrent requests into one forward pass)",
                "requestBody": json_body(json!({ "oneOf": [
                    { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } },
                    { "type": "object", "required": ["texts"], "properties": { "texts": { "type": "array", "maxItems": 64, "items": { "type": "string" } } } }
                ] })),
                "responses": with_errors(ok_json("a Classification for `text`, {results: [Classification]} for `texts`", json!({ "oneOf": [
                    { "$ref": "#/components/schemas/Classification" },
                    { "type": "object", "properties": { "results": { "type": "array", "items": { "$ref": "#/components/schemas/Classification" } } } }
                ] })), CUSTOMER_ERRORS)
            } },
            "/v1/conversations": { "post": {
                "tags": ["chat"], "summary": "Start a conversation",
                "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object", "properties": { "customer_ref": { "type": "string" } } } } } },
                "responses": with_errors(json!({ "201": { "description": "created", "content": { "application/json": { "schema": {
                    "type": "object", "properties": { "conversation_id": { "type": "string" }, "created_at_ms": { "type": "integer" } } } } } } }), &[400, 429])
            } },
            "/v1/conversations/{id}/messages": { "post": {
                "tags": ["chat"], "summary": "Send a customer message; returns the events it produced (bot replies, ticket...). The turn is stored all or nothing and runs to completion even if the client goes away; a retry with the same client_message_id returns the first outcome",
                "parameters": [id_param("conversation id")],
                "requestBody": json_body(json!({ "type": "object", "required": ["text"], "properties": {
                    "text": { "type": "string" },
                    "client_message_id": { "type": "string", "minLength": 1, "maxLength": 64, "description": "the client's id for this message (printable, no spaces): the same id in the same conversation is never a second message" } } })),
                "responses": with_errors(ok_json("events", events.clone()), CUSTOMER_ERRORS)
            } },
            "/v1/conversations/{id}/events": { "get": {
                "tags": ["chat"], "summary": "Events after a sequence number (resume after a disconnect)",
                "parameters": [id_param("conversation id"), { "name": "after_seq", "in": "query", "schema": { "type": "integer", "default": 0 } }],
                "responses": with_errors(ok_json("events", events.clone()), &[400, 404, 429])
            } },
            "/v1/conversations/{id}/transcript": { "get": {
                "tags": ["chat"], "summary": "Masked transcript export",
                "parameters": [id_param("conversation id"), { "name": "format", "in": "query", "schema": { "type": "string", "enum": ["json", "text"], "default": "json" } },
                    { "name": "download", "in": "query", "schema": { "type": "string", "enum": ["1", "0"] }, "description": "1: Content-Disposition: attachment; filename=\"intentdesk-<id>.txt\" (.json for JSON)" }],
                "responses": with_errors(json!({ "200": { "description": "the transcript", "content": {
                    "application/json": { "schema": { "$ref": "#/components/schemas/Transcript" } },
                    "text/plain": { "schema": { "type": "string" } } } } }), &[400, 404, 429])
            } },
            "/v1/conversations/{id}/rating": { "post": {
                "tags": ["chat"], "summary": "Rate the help received (1-5, optional comment)",
                "parameters": [id_param("conversation id")],
                "requestBody": json_body(json!({ "type": "object", "required": ["score"], "properties": {
                    "score": { "type": "integer", "minimum": 1, "maximum": 5 }, "comment": { "type": "string" } } })),
                "responses": with_errors(ok_json("events", events.clone()), &[400, 404, 413, 422, 429])
            } },
            "/v1/chat/ws": { "get": {
                "tags": ["chat"], "summary": "Chat WebSocket (JSON text frames; see the README for the frame format)",
                "parameters": [
                    { "name": "conversation_id", "in": "query", "schema": { "type": "string" }, "description": "resume this conversation (a new one without it)" },
                    { "name": "after_seq", "in": "query", "schema": { "type": "integer" }, "description": "send the events after this sequence number first" },
                    { "name": "customer_ref", "in": "query", "schema": { "type": "string" } }
                ],
                "responses": with_errors(json!({ "101": { "description": "switching to the WebSocket protocol" } }), &[400, 404, 429])
            } },
            "/v1/agent/queue": { "get": {
                "tags": ["agent"], "summary": "Waiting tickets by priority then waiting time, and agents", "security": bearer,
                "responses": with_errors(ok_json("the queue", json!({ "type": "object", "properties": {
                    "tickets": { "type": "array", "items": ticket.clone() }, "agents": { "type": "array", "items": { "$ref": "#/components/schemas/Agent" } } } })), &[401])
            } },
            "/v1/agent/tickets/{id}": { "get": {
                "tags": ["agent"], "summary": "One ticket: details, notes, the masked events of its conversation so far (transcript), the catalog's answer for its intent in the customer's language (suggested_reply)", "security": bearer,
                "parameters": [id_param("ticket id")],
                "responses": with_errors(ok_json("the ticket", json!({ "$ref": "#/components/schemas/TicketPane" })), &[401, 404])
            } },
            "/v1/agent/tickets/{id}/claim": agent_ticket_action("Claim a waiting ticket (409 if already claimed)", None, ok_json("the ticket", ticket.clone())),
            "/v1/agent/tickets/{id}/reply": agent_ticket_action("Reply to the customer (owner only)", Some(text_body.clone()), ok_json("the event sent", json!({ "$ref": "#/components/schemas/Event" }))),
            "/v1/agent/tickets/{id}/note": agent_ticket_action("Internal note (never shown to the customer)", Some(text_body.clone()), json!({ "204": { "description": "stored" } })),
            "/v1/agent/tickets/{id}/resolve": agent_ticket_action("Resolve (owner only): the bot takes over and asks for a rating", None, ok_json("the ticket", ticket.clone())),
            "/v1/agent/tickets/{id}/handback": agent_ticket_action("Hand the conversation back to the bot (owner only)", None, ok_json("the ticket", ticket.clone())),
            "/v1/agent/presence": { "post": {
                "tags": ["agent"], "summary": "Go online/offline, optionally set capacity (may assign waiting tickets at once)", "security": bearer,
                "requestBody": json_body(json!({ "type": "object", "required": ["online"], "properties": {
                    "online": { "type": "boolean" }, "capacity": { "type": "integer", "minimum": 0, "maximum": 100 } } })),
                "responses": with_errors(ok_json("the agent", json!({ "$ref": "#/components/schemas/Agent" })), &[400, 401, 422])
            } },
            "/v1/agent/ws": { "get": {
                "tags": ["agent"], "summary": "Agent feed WebSocket: queue and tickets lists on change, assigned / unassigned notices, every event of the agent's tickets (see the README). From a browser the token goes in the subprotocol intentdesk.bearer.<base64url(token), no padding> next to intentdesk.v1, which the server selects; never in the URL", "security": bearer,
                "parameters": [
                    { "name": "after_seq", "in": "query", "schema": { "type": "integer" }, "description": "first replay the conversation_event frames of the agent's assigned tickets after this sequence number" },
                    { "name": "Sec-WebSocket-Protocol", "in": "header", "schema": { "type": "string" }, "description": "intentdesk.v1, intentdesk.bearer.<base64url token>" }
                ],
                "responses": with_errors(json!({ "101": { "description": "switching to the WebSocket protocol (subprotocol intentdesk.v1 when offered)" } }), &[400, 401])
            } },
            "/health": { "get": { "tags": ["ops"], "summary": "Liveness", "responses": ok_json("alive", json!({ "type": "object" })) } },
            "/ready": { "get": { "tags": ["ops"], "summary": "Readiness: the model answers a probe and the database a query",
                "responses": with_errors(ok_json("ready", json!({ "type": "object" })), &[503]) } },
            "/metrics": { "get": { "tags": ["ops"], "summary": "Prometheus metrics",
                "responses": { "200": { "description": "text format 0.0.4", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
            "/openapi.json": { "get": { "tags": ["ops"], "summary": "This document", "responses": ok_json("OpenAPI 3", json!({ "type": "object" })) } }
        },
        "components": {
            "securitySchemes": { "agentToken": { "type": "http", "scheme": "bearer", "description": "an agent token configured with --agent-token name:token" } },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "code": { "type": "string", "enum": ["bad_request", "payload_too_large", "unauthorized", "rate_limited", "not_ready", "empty_message", "message_too_long", "invalid_input", "not_found", "conflict", "overloaded", "internal"] },
                    "message": { "type": "string" },
                    "retry_after_secs": { "type": "integer" } } } } },
                "Event": { "type": "object", "required": ["seq", "at_ms", "type"], "properties": {
                    "seq": { "type": "integer" }, "at_ms": { "type": "integer" }, "ticket_id": { "type": "string" },
                    "type": { "type": "string", "enum": ["customer_message", "bot_message", "ticket_opened", "queue_position", "agent_joined", "agent_message", "resolved", "rating_request", "handed_back"] },
                    "text": { "type": "string" },
                    "choices": { "type": "array", "items": { "type": "object", "properties": { "id": { "type": "string" }, "label": { "type": "string" } } } },
                    "did_this_help": { "type": "boolean" },
                    "position": { "type": "integer" }, "wait_minutes": { "type": "integer" }, "agent": { "type": "string" } } },
                "Classification": { "type": "object", "properties": {
                    "language": { "type": "string" }, "intent": { "type": "string" }, "confidence": { "type": "number" },
                    "top": { "type": "array", "items": { "type": "object", "properties": { "intent": { "type": "string" }, "confidence": { "type": "number" } } } },
                    "out_of_scope": { "type": "boolean" }, "route": { "type": "string" }, "intent_route": { "type": "string", "nullable": true },
                    "details": { "type": "object", "additionalProperties": { "type": "string" } },
                    "masked": { "type": "string" }, "secrets": { "type": "array", "items": { "type": "string" } },
                    "notice": { "type": "object", "nullable": true, "description": "the incident notice a first message would get",
                        "properties": { "id": { "type": "string" }, "text": { "type": "string" } } } } },
                "Ticket": { "type": "object", "properties": {
                    "id": { "type": "string" }, "conversation_id": { "type": "string" }, "intent": { "type": "string" },
                    "confidence": { "type": "number" }, "language": { "type": "string" }, "priority": { "type": "integer", "description": "0 low .. 3 urgent" },
                    "state": { "type": "string", "enum": ["waiting", "assigned", "resolved", "back_to_bot"] }, "agent_id": { "type": "string", "nullable": true },
                    "details": { "type": "object" }, "transcript": { "type": "array", "items": { "type": "object" } }, "note_count": { "type": "integer" },
                    "created_at_ms": { "type": "integer" }, "assigned_at_ms": { "type": "integer", "nullable": true }, "closed_at_ms": { "type": "integer", "nullable": true },
                    "position": { "type": "integer" }, "wait_minutes": { "type": "integer" }, "waiting_ms": { "type": "integer" } } },
                "TicketSummary": { "type": "object", "properties": {
                    "ticket_id": { "type": "string" }, "conversation_id": { "type": "string" },
                    "state": { "type": "string", "enum": ["waiting", "assigned"] }, "agent": { "type": "string", "nullable": true },
                    "priority": { "type": "string", "enum": ["urgent", "high", "normal", "low"] },
                    "intent": { "type": "string" }, "confidence": { "type": "number" }, "language": { "type": "string" },
                    "created_at_ms": { "type": "integer" }, "waiting_since_ms": { "type": "integer" },
                    "assigned_at_ms": { "type": "integer", "nullable": true },
                    "assigned_by": { "type": "string", "enum": ["auto", "claim", "transfer"], "nullable": true },
                    "position": { "type": "integer", "nullable": true }, "wait_minutes": { "type": "integer", "nullable": true },
                    "first_line": { "type": "string", "maxLength": 140 },
                    "details": { "type": "object", "additionalProperties": { "type": "string" } },
                    "unread": { "type": "integer", "description": "customer messages since the agent's last reply or the assignment" } } },
                "TicketPane": { "allOf": [ { "$ref": "#/components/schemas/Ticket" }, { "type": "object", "properties": {
                    "ticket_id": { "type": "string" }, "priority_name": { "type": "string" },
                    "notes": { "type": "array", "items": { "type": "object", "properties": {
                        "seq": { "type": "integer" }, "agent_id": { "type": "string" }, "text": { "type": "string" }, "created_at_ms": { "type": "integer" } } } },
                    "transcript": { "type": "array", "items": { "type": "object", "properties": {
                        "seq": { "type": "integer" }, "at_ms": { "type": "integer" }, "type": { "type": "string" }, "text": { "type": "string" }, "agent": { "type": "string" } } } },
                    "suggested_reply": { "type": "string", "nullable": true } } } ] },
                "AgentStatus": { "type": "object", "properties": {
                    "agent": { "type": "string" }, "name": { "type": "string" }, "online": { "type": "boolean" },
                    "capacity": { "type": "integer" }, "load": { "type": "integer" } } },
                "DeskStats": { "type": "object", "properties": {
                    "queue_length": { "type": "integer" }, "estimated_wait_minutes": { "type": "integer" }, "oldest_waiting_seconds": { "type": "integer" },
                    "agents": { "type": "array", "items": { "$ref": "#/components/schemas/AgentStatus" } }, "agents_online": { "type": "integer" },
                    "today": { "type": "object", "properties": {
                        "conversations": { "type": "integer" }, "tickets": { "type": "integer" }, "resolved": { "type": "integer" },
                        "deflection_rate": { "type": "number", "nullable": true }, "ratings": { "type": "integer" },
                        "average_rating": { "type": "number", "nullable": true } } } } },
                "Agent": { "type": "object", "properties": {
                    "id": { "type": "string" }, "name": { "type": "string" }, "capacity": { "type": "integer" }, "online": { "type": "boolean" },
                    "active_tickets": { "type": "integer" }, "presence_changed_at_ms": { "type": "integer", "nullable": true } } },
                "Transcript": { "type": "object", "properties": {
                    "conversation_id": { "type": "string" }, "lang": { "type": "string" }, "created_at_ms": { "type": "integer" },
                    "messages": { "type": "array", "items": { "type": "object", "properties": {
                        "seq": { "type": "integer" }, "sender": { "type": "string", "enum": ["customer", "bot", "agent", "system"] },
                        "text": { "type": "string" }, "at_ms": { "type": "integer" } } } } } }
            }
        }
    });
    if let (Value::Object(paths), Value::Object(more)) = (&mut doc["paths"], workspace) {
        paths.extend(more);
    }
    if let (Value::Object(paths), Value::Object(more)) = (&mut doc["paths"], notice_paths(&bearer))
    {
        paths.extend(more);
    }
    doc["components"]["schemas"]["Notice"] = notice_schema();
    doc
}

/// The incident notice endpoints.
fn notice_paths(bearer: &Value) -> Value {
    let notice = json!({ "$ref": "#/components/schemas/Notice" });
    let texts = json!({ "type": "object", "description": "language code (ko, en, zh, ja) to text; en required",
        "additionalProperties": { "type": "string", "maxLength": 1000 } });
    let list = json!({ "type": "array", "items": { "type": "string" } });
    let scope = |required: bool| {
        let mut body = json!({ "type": "object", "properties": {
            "intents": { "type": "array", "items": { "type": "string" }, "description": "catalog intent ids" },
            "coins": list.clone(), "networks": list.clone(),
            "keywords": { "type": "array", "items": { "type": "string" }, "description": "one must appear in the message" },
            "text": texts.clone(),
            "severity": { "type": "string", "enum": ["low", "medium", "high"], "default": "medium", "description": "high: also a banner in the widget" },
            "expires_in_minutes": { "type": "integer", "minimum": 1, "maximum": 10080, "default": 120, "description": "from now (on PATCH: extends or shortens)" } } });
        if required {
            body["required"] = json!(["intents", "text"]);
        }
        json_body(body)
    };
    let id = id_param("notice id, e.g. N-000001");
    json!({
        "/v1/notices": {
            "get": { "tags": ["notices"], "summary": "Active notices and those ended in the last 24 hours, with counters; the intents, languages and expiry bounds a form needs", "security": bearer,
                "responses": with_errors(ok_json("notices", json!({ "type": "object", "properties": {
                    "notices": { "type": "array", "items": notice.clone() },
                    "intents": { "type": "array", "items": { "type": "object", "properties": {
                        "id": { "type": "string" }, "description": { "type": "string" }, "security": { "type": "boolean" } } } },
                    "languages": list.clone(), "severities": list.clone(),
                    "default_expires_in_minutes": { "type": "integer" }, "max_expires_in_minutes": { "type": "integer" } } })), &[401]) },
            "post": { "tags": ["notices"], "summary": "Post an incident notice: matching messages get it first; customers with an open ticket it concerns are told at once", "security": bearer,
                "requestBody": scope(true),
                "responses": with_errors(json!({ "201": { "description": "posted", "content": { "application/json": { "schema": notice.clone() } } } }), &[400, 401, 413, 422]) }
        },
        "/v1/notices/{id}": { "patch": { "tags": ["notices"], "summary": "Edit scope, texts (merged by language; an empty text removes one), severity or expiry (409 once resolved)", "security": bearer,
            "parameters": [id.clone()], "requestBody": scope(false),
            "responses": with_errors(ok_json("the notice", notice.clone()), AGENT_ERRORS) } },
        "/v1/notices/{id}/resolve": { "post": { "tags": ["notices"], "summary": "Resolve with a closing text, sent to the customers still waiting on a ticket it concerns (409 if already resolved)", "security": bearer,
            "parameters": [id],
            "requestBody": json_body(json!({ "type": "object", "required": ["text"], "properties": { "text": texts } })),
            "responses": with_errors(ok_json("the notice", notice), AGENT_ERRORS) } },
        "/v1/notices/active": { "get": { "tags": ["notices"], "summary": "The widget banner: active high-severity notices in one language (English fallback), no internal fields",
            "parameters": [{ "name": "lang", "in": "query", "schema": { "type": "string", "default": "en" } }],
            "responses": with_errors(ok_json("notices", json!({ "type": "object", "properties": { "notices": { "type": "array", "items": {
                "type": "object", "properties": { "id": { "type": "string" }, "text": { "type": "string" }, "expires_at_ms": { "type": "integer" } } } } } })), &[400, 429]) } }
    })
}

fn notice_schema() -> Value {
    let list = json!({ "type": "array", "items": { "type": "string" } });
    let texts = json!({ "type": "object", "additionalProperties": { "type": "string" } });
    json!({ "type": "object", "properties": {
        "id": { "type": "string" }, "intents": list.clone(), "coins": list.clone(), "networks": list.clone(), "keywords": list.clone(),
        "texts": texts.clone(), "severity": { "type": "string", "enum": ["low", "medium", "high"] },
        "created_by": { "type": "string" }, "created_at_ms": { "type": "integer" }, "updated_at_ms": { "type": "integer" },
        "expires_at_ms": { "type": "integer" }, "resolved_at_ms": { "type": "integer", "nullable": true }, "closing_texts": texts,
        "shown": { "type": "integer" }, "answered": { "type": "integer", "description": "said it answered their question" },
        "asked_for_person": { "type": "integer", "description": "still asked for a person after reading it" },
        "status": { "type": "string", "enum": ["active", "expired", "resolved"] },
        "missing_languages": list, "pushed_to": { "type": "integer", "description": "customers with an open ticket told by this post or resolve" } } })
}
