// Package api serves spur over HTTP: JSON under /v1 (addresses,
// transactions, blocks, entities, screening of addresses and names, traces,
// incidents), /healthz, Prometheus /metrics and the OpenAPI document. Every
// /v1 request needs an API key (spur keys create), is rate limited per key,
// and has its body and batch size bounded; errors are JSON
// {"error": {"code", "message", "field"}}. The server reads a store that no
// other process writes while it serves.
package api
