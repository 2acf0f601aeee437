package main

import (
	"strings"
	"testing"
)

// Every invalid setting is named by its variable, also where the worker's
// own checks find it (worker.Options.Validate).
func TestInvalidConfigurationNamesTheVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TRADEFLOW_FLAG_RATE": "1.5"}, "TRADEFLOW_FLAG_RATE: flag rate 1.5 is outside 0..1"},
		{map[string]string{"TRADEFLOW_LARGE_TRADE": "-1"}, "TRADEFLOW_LARGE_TRADE: "},
		{map[string]string{"TRADEFLOW_WINDOW_RETENTION": "30m"}, "TRADEFLOW_WINDOW_RETENTION (with TRADEFLOW_WINDOW_GRACE): retention 30m0s is shorter"},
		{map[string]string{"TRADEFLOW_WINDOW_GRACE": "-1s"}, "TRADEFLOW_WINDOW_GRACE: grace -1s is negative"},
		{map[string]string{"TRADEFLOW_SHUTDOWN_TIMEOUT": "0s"}, "TRADEFLOW_SHUTDOWN_TIMEOUT: 0s must be positive"},
		{map[string]string{"TRADEFLOW_SESSION_TIMEOUT": "5s"}, "TRADEFLOW_SESSION_TIMEOUT: 5s is outside 6s..30m"},
		{map[string]string{"TRADEFLOW_SESSION_TIMEOUT": "31m"}, "TRADEFLOW_SESSION_TIMEOUT: 31m0s is outside 6s..30m"},
		{map[string]string{"TRADEFLOW_EMBEDDED_COMPACT_INTERVAL": "0s"}, "TRADEFLOW_EMBEDDED_COMPACT_INTERVAL: 0s must be positive"},
		{map[string]string{"TRADEFLOW_STATE_STORE": "rocksdb"}, "TRADEFLOW_STATE_STORE: unknown state store"},
		{map[string]string{"TRADEFLOW_PARTITIONS": "0"}, "TRADEFLOW_PARTITIONS: 0 is outside 1..10000"},
		{map[string]string{"TRADEFLOW_REPLICATION": "0"}, "TRADEFLOW_REPLICATION: "},
		{map[string]string{"TRADEFLOW_DATA_DIR": "", "TRADEFLOW_STATE_STORE": "leveldb"}, "TRADEFLOW_DATA_DIR: "},
		{map[string]string{"TRADEFLOW_KAFKA_VERSION": "1.0.0"}, "TRADEFLOW_KAFKA_VERSION: 1.0.0 is older than 2.1.0"},
		{map[string]string{"TRADEFLOW_BROKERS": "nohostport"}, "TRADEFLOW_BROKERS: "},
		{map[string]string{"TRADEFLOW_GROUP_INSTANCE_ID": "pod 0!"}, "TRADEFLOW_GROUP_INSTANCE_ID: "},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := loadConfig()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadConfig() = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Timings.") {
				t.Errorf("error names an option no variable sets: %v", err)
			}
		})
	}
	if _, err := loadConfig(); err != nil {
		t.Fatalf("the defaults are invalid: %v", err)
	}
}
