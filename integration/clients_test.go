package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// producer writes records to the cluster through one client library.
type producer struct {
	name     string
	textOnly bool // fed from JSON: values must be valid UTF-8
	write    func(tb testing.TB, c *cluster, recs []*kgo.Record)
}

// producers are the clients the pipeline is checked with: franz-go (Go),
// librdkafka (confluent-kafka, murmur2_random) and the Java client (default
// partitioner): each partitions keyed records as Java does.
var producers = []producer{
	{name: "kgo", write: func(tb testing.TB, c *cluster, recs []*kgo.Record) { c.produce(tb, recs...) }},
	{name: "librdkafka", textOnly: true, write: produceLibrdkafka},
	{name: "java", textOnly: true, write: produceJava},
}

// jsonl writes recs as {"topic","key","value","timestamp"} lines.
func jsonl(tb testing.TB, recs []*kgo.Record) []byte {
	tb.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range recs {
		line := map[string]any{"topic": r.Topic, "key": nil, "value": nil, "timestamp": r.Timestamp.UnixMilli()}
		if r.Key != nil {
			line["key"] = string(r.Key)
		}
		if r.Value != nil {
			line["value"] = string(r.Value)
		}
		if r.Timestamp.IsZero() {
			line["timestamp"] = time.Now().UnixMilli()
		}
		if err := enc.Encode(line); err != nil {
			tb.Fatal(err)
		}
	}
	return b.Bytes()
}

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{".."}, parts...)...)
}

// produceLibrdkafka runs interop/librdkafka/produce.py (confluent-kafka).
func produceLibrdkafka(tb testing.TB, c *cluster, recs []*kgo.Record) {
	tb.Helper()
	py := requireTool(tb, "python3")
	if err := exec.Command(py, "-c", "import confluent_kafka").Run(); err != nil {
		if os.Getenv("TRADEFLOW_REQUIRE_TOOLS") != "" {
			tb.Fatalf("python3 cannot import confluent_kafka (pip install -r interop/librdkafka/requirements.txt): %v", err)
		}
		tb.Skip("confluent_kafka not installed; set TRADEFLOW_REQUIRE_TOOLS=1 to make this a failure")
	}
	runWith(tb, jsonl(tb, recs), py, repoPath("interop", "librdkafka", "produce.py"), c.Brokers)
}

func runWith(tb testing.TB, stdin []byte, name string, args ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
