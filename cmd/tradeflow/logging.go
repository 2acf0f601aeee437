package main

import (
	"bufio"
	"bytes"
	"log/slog"
	"os"
	"strings"

	"github.com/kelseyhightower/envconfig"
	"golang.org/x/term"
)

// Log formats (TRADEFLOW_LOG_FORMAT).
const (
	logText = "text"
	logJSON = "json"
)

// logFormat is the configured format, or text on a terminal and JSON
// otherwise (a collector reads the JSON of a container's stderr).
func logFormat(c Config, out *os.File) string {
	if c.LogFormat != "" {
		return c.LogFormat
	}
	if term.IsTerminal(int(out.Fd())) {
		return logText
	}
	return logJSON
}

// newLogger is the process's one logger; goka's and sarama's lines are
// routed through it too (gokaext.Logger).
func newLogger(c Config, out *os.File) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel)) // validated in Config.validate
	// Durations as Go writes them ("1.5s") in both formats, not as JSON
	// nanoseconds.
	o := &slog.HandlerOptions{Level: l, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			return slog.String(a.Key, a.Value.Duration().String())
		}
		return a
	}}
	if logFormat(c, out) == logJSON {
		return slog.New(slog.NewJSONHandler(out, o))
	}
	return slog.New(slog.NewTextHandler(out, o))
}

// logStart is a command's first line: the version and every setting, a
// secret as <set> or <unset> (kclient.Secret).
func logStart(log *slog.Logger, command string, c Config) {
	var b bytes.Buffer
	if err := envconfig.Usagef(envPrefix, &c, &b, "{{range .}}{{usage_key .}}={{.Field}}\n{{end}}"); err != nil {
		log.Warn("cannot list the settings", "err", err)
	}
	var settings []any
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			settings = append(settings, slog.String(k, v))
		}
	}
	log.Info("tradeflow starting", "command", command, "version", version, slog.Group("settings", settings...))
}
