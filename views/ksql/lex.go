package ksql

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind is what a token is; keywords are words, told apart by the
// parser (ksqlDB's keywords are not reserved in identifiers either).
type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokWord             // an unquoted identifier or keyword, upper-cased
	tokQuoted           // a `backquoted` identifier, as written
	tokString           // a 'string' literal, '' unescaped
	tokNumber           // an integer literal, with its sign
	tokSymbol           // punctuation and operators: * , ; ( ) = < <= > >= <> !=
)

// pos is where a token starts: line and column from 1, as ksqlDB reports
// syntax errors ("line 1:8: ...").
type pos struct{ line, col int }

type token struct {
	kind tokenKind
	text string
	at   pos
	off  int // byte offset in the statement
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of statement"
	case tokString:
		return "'" + strings.ReplaceAll(t.text, "'", "''") + "'"
	case tokQuoted:
		return "`" + t.text + "`"
	}
	return "'" + t.text + "'"
}

// Error is a statement that does not parse or does not fit the tables: a
// position (line and column of the offending token, from 1) and what is
// wrong, as ksqlDB words syntax errors.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d:%d: %s", e.Line, e.Col, e.Msg) }

func errAt(p pos, format string, args ...any) *Error {
	return &Error{Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
}

// lex splits sql into tokens, ending with a tokEOF; comments (-- to the
// end of the line, /* ... */) are skipped.
func lex(sql string) ([]token, error) {
	var toks []token
	line, col := 1, 1
	i := 0
	advance := func(n int) {
		for _, r := range sql[i : i+n] {
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		i += n
	}
	for i < len(sql) {
		r, size := utf8.DecodeRuneInString(sql[i:])
		at := pos{line, col}
		switch {
		case r == utf8.RuneError && size == 1:
			return nil, errAt(at, "invalid UTF-8 in the statement")
		case unicode.IsSpace(r):
			advance(size)
		case strings.HasPrefix(sql[i:], "--"):
			n := strings.IndexByte(sql[i:], '\n')
			if n < 0 {
				n = len(sql) - i
			}
			advance(n)
		case strings.HasPrefix(sql[i:], "/*"):
			n := strings.Index(sql[i+2:], "*/")
			if n < 0 {
				return nil, errAt(at, "comment not closed: no */")
			}
			advance(n + 4)
		case r == '\'' || r == '`':
			text, n, ok := quoted(sql[i:], byte(r))
			if !ok {
				return nil, errAt(at, "%c not closed", r)
			}
			kind := tokString
			if r == '`' {
				kind = tokQuoted
				if text == "" {
					return nil, errAt(at, "empty quoted identifier")
				}
			}
			toks = append(toks, token{kind, text, at, i})
			advance(n)
		case r == '_' || unicode.IsLetter(r):
			n := strings.IndexFunc(sql[i:], func(r rune) bool { return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			if n < 0 {
				n = len(sql) - i
			}
			toks = append(toks, token{tokWord, strings.ToUpper(sql[i : i+n]), at, i})
			advance(n)
		case r >= '0' && r <= '9' || r == '-' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			n := 1
			for i+n < len(sql) && sql[i+n] >= '0' && sql[i+n] <= '9' {
				n++
			}
			if i+n < len(sql) && (sql[i+n] == '.' || sql[i+n] == '_' || unicode.IsLetter(rune(sql[i+n]))) {
				return nil, errAt(at, "want a whole number (epoch milliseconds or a count), got %q", sql[i:i+n+1])
			}
			toks = append(toks, token{tokNumber, sql[i : i+n], at, i})
			advance(n)
		default:
			n := 1
			if two := sql[i:min(i+2, len(sql))]; two == "<=" || two == ">=" || two == "<>" || two == "!=" {
				n = 2
			} else if !strings.ContainsRune("*,;()=<>", r) {
				return nil, errAt(at, "unexpected character %q", r)
			}
			toks = append(toks, token{tokSymbol, sql[i : i+n], at, i})
			advance(n)
		}
	}
	return append(toks, token{kind: tokEOF, at: pos{line, col}, off: len(sql)}), nil
}

// quoted reads a literal opened by q at s[0]: its text with doubled
// quotes unescaped, and how many bytes it took.
func quoted(s string, q byte) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != q {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == q {
			b.WriteByte(q)
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}
