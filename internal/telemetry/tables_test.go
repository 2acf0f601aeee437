package telemetry

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tradeflow/tradeflow/internal/store"
)

// A table copy's partitions count their entries (from the store's length,
// or by watching writes where it has none), the records they restored,
// and the restores running and done; the restore's end is logged with
// what it read.
func TestTables(t *testing.T) {
	for name, b := range map[string]storage.Builder{
		"memory":  store.MemoryBuilder(),
		"leveldb": store.LevelDB(t.TempDir()),
	} {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			var logs bytes.Buffer
			tables := NewTables(reg, slog.New(slog.NewTextHandler(&logs, nil)))
			build := tables.Builder(KindView, b)
			p0, err := build("users", 0)
			if err != nil {
				t.Fatal(err)
			}
			p1, err := build("users", 1)
			if err != nil {
				t.Fatal(err)
			}
			must(t, p0.Open())
			must(t, p1.Open())
			for _, k := range []string{"a", "b", "c"} {
				must(t, p0.Set(k, []byte("v")))
			}
			must(t, p0.Set("a", []byte("v2"))) // an update, not an entry
			must(t, p1.Set("d", []byte("v")))
			must(t, p0.MarkRecovered())
			compareUsers(t, reg, 5, 1, 4)
			if strings.Contains(logs.String(), "restore finished") {
				t.Errorf("restore logged as finished while partition 1 restores:\n%s", logs.String())
			}
			must(t, p1.MarkRecovered())
			must(t, p0.Delete("b"))
			must(t, p0.Set("e", []byte("v"))) // live writes: entries, not restored records
			compareUsers(t, reg, 5, 0, 4)
			if got := testutil.CollectAndCount(tables.duration); got != 1 {
				t.Errorf("restore duration series: %d, want 1", got)
			}
			log := logs.String()
			if !strings.Contains(log, "restore started") || !strings.Contains(log, "partitions=2 records=5 entries=4") {
				t.Errorf("want the restore's start and its end with partitions, records and entries; got:\n%s", log)
			}
			must(t, p0.Close())
			must(t, p1.Close())
			if n := testutil.CollectAndCount(tables, "tradeflow_table_entries"); n != 0 {
				t.Errorf("closed partitions still export %d entries series", n)
			}
			if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %v", err, problems)
			}
		})
	}
}

// compareUsers checks the users view's restored records, restoring
// partitions and entries.
func compareUsers(t *testing.T, reg prometheus.Gatherer, restored, restoring, entries int) {
	t.Helper()
	compare(t, reg, fmt.Sprintf(`
# HELP tradeflow_restore_records_total Changelog records read into a local table copy while it restored.
# TYPE tradeflow_restore_records_total counter
tradeflow_restore_records_total{kind="view",table="users"} %d
# HELP tradeflow_restoring_partitions Partitions of a local table copy that are open and have not caught up with the changelog yet.
# TYPE tradeflow_restoring_partitions gauge
tradeflow_restoring_partitions{kind="view",table="users"} %d
# HELP tradeflow_table_entries Entries held by the local copy of a table (its partitions open in this worker).
# TYPE tradeflow_table_entries gauge
tradeflow_table_entries{kind="view",table="users"} %d
`, restored, restoring, entries), "tradeflow_restore_records_total", "tradeflow_restoring_partitions", "tradeflow_table_entries")
}

func compare(t *testing.T, reg prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
