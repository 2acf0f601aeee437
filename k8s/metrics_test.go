package k8s

// exportedMetrics are the metric families a tradeflow worker exports on
// /metrics, with their types: the names the dashboard and the alert rules
// may use (TestMonitoringNamesExportedMetrics). It is written out by hand
// from the metrics' contract; an integration test checks it against a live
// worker's /metrics, so a renamed metric fails there and here.
var exportedMetrics = map[string]string{
	// Counters.
	"tradeflow_trades_settled_total":             "counter", // disposition
	"tradeflow_dead_letters_total":               "counter", // topic
	"tradeflow_late_records_dropped_total":       "counter",
	"tradeflow_duplicates_skipped_total":         "counter",
	"tradeflow_count_gaps_opened_total":          "counter",
	"tradeflow_stale_count_values_ignored_total": "counter",
	"tradeflow_windows_expired_total":            "counter",
	"tradeflow_users_ignored_total":              "counter",
	"tradeflow_records_consumed_total":           "counter", // group, topic
	"tradeflow_records_produced_total":           "counter", // topic
	"tradeflow_produce_errors_total":             "counter", // topic
	"tradeflow_rebalances_total":                 "counter", // group
	"tradeflow_restore_records_total":            "counter", // table, kind
	"tradeflow_http_requests_total":              "counter", // route, code

	// Gauges.
	"tradeflow_build_info":                "gauge", // version, goversion, goka
	"tradeflow_ready":                     "gauge",
	"tradeflow_consumer_lag":              "gauge", // group, topic, partition
	"tradeflow_consumer_committed_offset": "gauge", // group, topic, partition
	"tradeflow_consumer_high_watermark":   "gauge", // group, topic, partition
	"tradeflow_event_time_lag_seconds":    "gauge", // group
	"tradeflow_partitions_assigned":       "gauge", // group
	"tradeflow_restoring_partitions":      "gauge", // table, kind
	"tradeflow_restore_records_left":      "gauge", // table, kind
	"tradeflow_table_entries":             "gauge", // table, kind

	// Histograms.
	"tradeflow_end_to_end_latency_seconds":    "histogram",
	"tradeflow_stage_duration_seconds":        "histogram", // group
	"tradeflow_restore_duration_seconds":      "histogram", // table, kind
	"tradeflow_http_request_duration_seconds": "histogram", // route

	// client_golang's Go and process collectors (a few of their families).
	"go_gc_duration_seconds":        "summary",
	"go_goroutines":                 "gauge",
	"go_threads":                    "gauge",
	"go_info":                       "gauge",
	"go_memstats_alloc_bytes":       "gauge",
	"go_memstats_heap_alloc_bytes":  "gauge",
	"go_memstats_heap_inuse_bytes":  "gauge",
	"go_memstats_sys_bytes":         "gauge",
	"go_memstats_next_gc_bytes":     "gauge",
	"process_cpu_seconds_total":     "counter",
	"process_resident_memory_bytes": "gauge",
	"process_virtual_memory_bytes":  "gauge",
	"process_open_fds":              "gauge",
	"process_max_fds":               "gauge",
	"process_start_time_seconds":    "gauge",
}
