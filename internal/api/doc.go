// Package api serves spur over HTTP: JSON under /v1 (Bitcoin and Ethereum
// addresses, transactions and blocks, entities, screening of addresses and
// names, traces on either chain, incidents, reports), /healthz, Prometheus
// /metrics, the OpenAPI document, and the investigation page under /ui/
// (static files embedded in the binary, calling /v1 from the browser). Every
// /v1 request needs an API key (spur keys create) unless the server runs
// without them, is rate limited per key, and has its body and batch size
// bounded; errors are JSON {"error": {"code", "message", "field"}}. The
// server reads stores that no other process writes while it serves.
package api
