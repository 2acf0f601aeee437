package gokaext

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Logger routes goka's and sarama's printf-style loggers (goka.Logger,
// sarama.StdLogger) through slog, so a process writes one format. Neither
// library says how serious a line is, and tradeflow logs the lifecycle
// events itself (assignments, restores, readiness), so their lines go to
// debug, except those that report an error or a failure, which go to warn.
// goka's "[Processor group] " prefix becomes the component attribute.
type Logger struct {
	log  *slog.Logger
	from string
}

// GokaLogger is goka's logger for processors, views and the tester.
func GokaLogger(log *slog.Logger) *Logger { return &Logger{log: log, from: "goka"} }

// SaramaLogger is sarama's (sarama.Logger).
func SaramaLogger(log *slog.Logger) *Logger { return &Logger{log: log, from: "sarama"} }

func (l *Logger) Print(v ...any)                 { l.write(fmt.Sprint(v...)) }
func (l *Logger) Println(v ...any)               { l.write(fmt.Sprintln(v...)) }
func (l *Logger) Printf(format string, v ...any) { l.write(fmt.Sprintf(format, v...)) }

func (l *Logger) write(msg string) {
	msg = strings.TrimRight(msg, "\n")
	level := slog.LevelDebug
	// sarama logs a successful producer id with "Not an error" in it.
	if low := strings.ToLower(msg); (strings.Contains(low, "error") || strings.Contains(low, "fail")) && !strings.Contains(low, "not an error") {
		level = slog.LevelWarn
	}
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("from", l.from)}
	if strings.HasPrefix(msg, "[") {
		if end := strings.Index(msg, "] "); end > 0 {
			attrs = append(attrs, slog.String("component", msg[1:end]))
			msg = msg[end+2:]
		}
	}
	l.log.LogAttrs(context.Background(), level, msg, attrs...)
}
