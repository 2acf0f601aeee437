package integration

import (
	"context"
	"debug/elf"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The image is what the root Dockerfile builds. Its builder's base image
// cannot be pulled here (no registry), so the test runs the builder's own
// go build command from the Dockerfile, checks the binary is static, runs
// `version` and serves /readyz, then builds the Dockerfile's runtime stage
// with podman from that binary and inspects the image.
func TestImage(t *testing.T) {
	podman := requireTool(t, "podman")
	df, err := os.ReadFile(repoPath("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tradeflow")
	const version = "image-test-1"

	// The builder's command, as the Dockerfile writes it.
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build [^&\n]*?) -o (\S+) (\./cmd/tradeflow)`).FindSubmatch(df)
	if m == nil {
		t.Fatal("no `RUN CGO_ENABLED=0 go build ... -o ... ./cmd/tradeflow` in the Dockerfile")
	}
	build := strings.ReplaceAll(string(m[1]), "${VERSION}", version) + " -o " + bin + " " + string(m[3])
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = repoPath()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has a dynamic loader (PT_INTERP): not static")
		}
	}
	f.Close()
	if len(libs) > 0 {
		t.Errorf("the binary links %v: not static", libs)
	}

	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tradeflow "+version) || !strings.Contains(string(out), "github.com/lovoo/goka v") || !strings.Contains(string(out), "go go1.") {
		t.Fatalf("tradeflow version: %v\n%s", err, out)
	}

	// It serves /readyz: everything in one process on the embedded broker.
	httpAddr := freeAddr(t)
	run := exec.Command(bin, "run")
	run.Env = append(os.Environ(), "TRADEFLOW_DATA_DIR="+filepath.Join(dir, "data"), "TRADEFLOW_EMBEDDED_ADDR="+freeAddr(t),
		"TRADEFLOW_HTTP_ADDR="+httpAddr, "TRADEFLOW_DATAGEN_RATE=0")
	logFile := filepath.Join(dir, "run.log")
	lf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	run.Stdout, run.Stderr = lf, lf
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { run.Process.Signal(syscall.SIGTERM); run.Wait(); lf.Close() }()
	ready := false
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && !ready; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
	}
	if !ready {
		b, _ := os.ReadFile(logFile)
		t.Fatalf("the static binary's run did not serve /readyz 200 within 90 s; log:\n%s", b)
	}

	// The runtime stage, built from that binary: each COPY --from=build
	// takes the file from the context instead.
	i := strings.Index(string(df), "FROM scratch")
	if i < 0 {
		t.Fatal("no `FROM scratch` runtime stage in the Dockerfile")
	}
	ctxDir := filepath.Join(dir, "context")
	for _, d := range []string{ctxDir, filepath.Join(ctxDir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copies := map[string]string{"/out/tradeflow": bin, "/etc/ssl/certs/ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt"}
	runtime := regexp.MustCompile(`COPY --from=build (--chown=\S+ )?(\S+) `).ReplaceAllStringFunc(string(df[i:]), func(s string) string {
		sm := regexp.MustCompile(`COPY --from=build (--chown=\S+ )?(\S+) `).FindStringSubmatch(s)
		src := sm[2]
		name := filepath.Base(src)
		if from, ok := copies[src]; ok {
			b, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ctxDir, name), b, 0o755); err != nil {
				t.Fatal(err)
			}
		} else if src != "/out/data" {
			t.Fatalf("the runtime stage copies %s from the builder, which the test does not provide", src)
		}
		return "COPY " + sm[1] + name + " "
	})
	if err := os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte(runtime), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "localhost/tradeflow-image-test:" + version
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, podman, "build", "-q", "--build-arg", "VERSION="+version, "-t", tag, "-f", filepath.Join(ctxDir, "Containerfile"), ctxDir).CombinedOutput(); err != nil {
		t.Fatalf("podman build of the runtime stage: %v\n%s\n%s", err, out, runtime)
	}
	defer exec.Command(podman, "rmi", "-f", tag).Run()
	out, err = exec.CommandContext(ctx, podman, "image", "inspect", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var images []struct {
		Config struct {
			User       string
			Entrypoint []string
			Cmd        []string
			Volumes    map[string]struct{}
			Labels     map[string]string
			Env        []string
		}
	}
	if err := json.Unmarshal(out, &images); err != nil || len(images) != 1 {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	c := images[0].Config
	t.Logf("image: user %s, entrypoint %v, cmd %v, volumes %v, labels %v", c.User, c.Entrypoint, c.Cmd, c.Volumes, c.Labels)
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", c.User)
	}
	if strings.Join(c.Entrypoint, " ") != "/tradeflow" || strings.Join(c.Cmd, " ") != "worker" {
		t.Errorf("entrypoint %v cmd %v, want [/tradeflow] [worker]", c.Entrypoint, c.Cmd)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v, want /data", c.Volumes)
	}
	if c.Labels["org.opencontainers.image.version"] != version || c.Labels["org.opencontainers.image.title"] != "tradeflow" {
		t.Errorf("labels %v, want OCI title and version %s", c.Labels, version)
	}
	if !strings.Contains(strings.Join(c.Env, " "), "TRADEFLOW_DATA_DIR=/data") {
		t.Errorf("env %v, want TRADEFLOW_DATA_DIR=/data", c.Env)
	}
}
