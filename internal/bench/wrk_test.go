package bench

import (
	"testing"
	"time"
)

const wrkOutput = `Running 10s test @ http://127.0.0.1:35405/v1/counts/ZVV
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.05ms    9.83ms  97.57ms   93.62%
    Req/Sec     4.18k   582.39     5.36k    70.50%
  Latency Distribution
     50%    1.62ms
     75%    2.44ms
     90%    5.84ms
     99%   78.04ms
  83337 requests in 10.01s, 49.82MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   8323.26
Transfer/sec:      4.98MB
`

func TestParseWrk(t *testing.T) {
	var res wrkRun
	if err := parseWrk(wrkOutput, &res); err != nil {
		t.Fatal(err)
	}
	if res.ReqPerSec != 8323.26 || res.P99 != 78040*time.Microsecond {
		t.Errorf("req/s %v, p99 %v; want 8323.26, 78.04ms", res.ReqPerSec, res.P99)
	}
	if res.Errors != "; Non-2xx or 3xx responses: 3" {
		t.Errorf("errors %q", res.Errors)
	}
	if err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n", &res); err == nil {
		t.Error("output without figures parsed")
	}
}

func TestWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"850.00us": 850 * time.Microsecond, "1.62ms": 1620 * time.Microsecond,
		"1.02s": 1020 * time.Millisecond, "2.00m": 2 * time.Minute,
	} {
		got, err := wrkDuration(in)
		if err != nil || got != want {
			t.Errorf("wrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := wrkDuration("3h"); err == nil {
		t.Error("unknown unit accepted")
	}
}

func TestLatencies(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	p := &poller{seen: map[string][]seen{"ZVV": {{at(0), 0}, {at(30), 2}, {at(50), 3}}}}
	got, err := p.latencies(map[string][]time.Time{"ZVV": {at(10), at(20), at(25)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{20 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("latencies %v, want %v", got, want)
		}
	}
	if _, err := p.latencies(map[string][]time.Time{"ZVV": {at(1), at(2), at(3), at(4)}}); err == nil {
		t.Error("a trade never seen gave no error")
	}
}

func TestQuantile(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	if q := quantile(d, 0.50); q != 50*time.Millisecond {
		t.Errorf("p50 %v", q)
	}
	if q := quantile(d, 0.99); q != 99*time.Millisecond {
		t.Errorf("p99 %v", q)
	}
	if q := quantile(d[:1], 0.99); q != time.Millisecond {
		t.Errorf("p99 of one %v", q)
	}
}
