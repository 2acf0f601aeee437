package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tradeflow/tradeflow/internal/kafkahash"
)

// jarBuild is one interop Maven project's build, done at most once per
// test binary.
type jarBuild struct {
	once sync.Once
	jar  string
	err  error
}

var (
	jarBuildsMu sync.Mutex
	jarBuilds   = map[string]*jarBuild{}
)

// javaJar returns interop/<project>/target/lib/<project>.jar, building it
// with the project's build.sh once if it is absent or older than the
// project's sources. Without java (or, for a missing jar, mvn) it skips,
// unless TRADEFLOW_REQUIRE_TOOLS is set.
func javaJar(tb testing.TB, project string) string {
	tb.Helper()
	requireTool(tb, "java")
	jarBuildsMu.Lock()
	b := jarBuilds[project]
	if b == nil {
		b = &jarBuild{}
		jarBuilds[project] = b
	}
	jarBuildsMu.Unlock()
	dir := repoPath("interop", project)
	jar := filepath.Join(dir, "target", "lib", project+".jar")
	if _, err := os.Stat(jar); err != nil {
		requireTool(tb, "mvn") // skips before a build is attempted
	}
	b.once.Do(func() {
		b.jar = jar
		if !jarStale(dir, jar) {
			return
		}
		if _, err := exec.LookPath("mvn"); err != nil {
			tb.Logf("interop/%s: sources newer than the jar, but no mvn to rebuild it: using the jar", project)
			return
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "bash", filepath.Join(dir, "build.sh")).CombinedOutput()
		if err == nil {
			_, err = os.Stat(jar)
		}
		if err != nil {
			b.err = fmt.Errorf("interop/%s/build.sh: %v\n%s", project, err, out)
			return
		}
		tb.Logf("built interop/%s in %v", project, time.Since(start).Round(100*time.Millisecond))
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.jar
}

// jarStale: jar is missing or older than pom.xml or a file under src/.
func jarStale(dir, jar string) bool {
	st, err := os.Stat(jar)
	if err != nil {
		return true
	}
	stale := false
	check := func(p string) {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(st.ModTime()) {
			stale = true
		}
	}
	check(filepath.Join(dir, "pom.xml"))
	_ = filepath.WalkDir(filepath.Join(dir, "src"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			check(p)
		}
		return nil
	})
	return stale
}

// produceJava writes recs with interop/javaclient (a plain KafkaProducer:
// default partitioner, acks=all, idempotent) and checks that it put every
// keyed record in the partition tradeflow's partitioner (kafkahash) picks.
func produceJava(tb testing.TB, c *cluster, recs []*kgo.Record) {
	tb.Helper()
	jar := javaJar(tb, "javaclient")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-jar", jar, "--offsets", c.Brokers, "-")
	cmd.Stdin = bytes.NewReader(jsonl(tb, recs))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("javaclient: %v\n%s", err, stderr.String())
	}

	topics := map[string]bool{}
	for _, r := range recs {
		topics[r.Topic] = true
	}
	partitions := map[string]int32{}
	for t := range topics {
		td, err := c.Admin.ListTopics(ctx, t)
		if err != nil || td[t].Err != nil {
			tb.Fatalf("describe %s: %v %v", t, err, td[t].Err)
		}
		partitions[t] = int32(len(td[t].Partitions))
	}
	s := bufio.NewScanner(&stdout)
	i := 0
	for ; s.Scan(); i++ {
		var topic string
		var p int32
		var off int64
		if _, err := fmt.Sscanf(s.Text(), "%s %d %d", &topic, &p, &off); err != nil || i >= len(recs) || topic != recs[i].Topic {
			tb.Fatalf("javaclient --offsets line %d %q: %v", i+1, s.Text(), err)
		}
		if k := recs[i].Key; k != nil {
			if want := kafkahash.Partition(k, partitions[topic]); p != want {
				tb.Fatalf("the Java client put %s key %q in partition %d, tradeflow's partitioner says %d", topic, k, p, want)
			}
		}
	}
	if i != len(recs) {
		tb.Fatalf("javaclient reported %d records, want %d; stderr:\n%s", i, len(recs), strings.TrimSpace(stderr.String()))
	}
}
