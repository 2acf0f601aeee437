package settlement

import (
	"fmt"
	"strings"
)

// ParamError is a parameter the rules or the window policy cannot work
// with. Params names the fields at fault, the first being the one to
// change, so that a caller can say which of its settings they came from.
type ParamError struct {
	Params  []string
	Problem string
}

func (e *ParamError) Error() string { return e.Problem }

// String names the parameters and the problem, for logs and tests.
func (e *ParamError) String() string { return strings.Join(e.Params, ", ") + ": " + e.Problem }

func paramError(params []string, format string, args ...any) *ParamError {
	return &ParamError{Params: params, Problem: fmt.Sprintf(format, args...)}
}
