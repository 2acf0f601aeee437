package settlement

import (
	"errors"
	"fmt"
)

// ParamError is a parameter the rules or the window policy cannot work
// with. Params names the fields at fault, the first being the one to
// change, so that a caller can say which of its settings they came from.
type ParamError struct {
	Params  []string
	Problem string
}

func (e *ParamError) Error() string { return e.Problem }

// ParamErrors returns the *ParamError values in err: Rules.Validate and
// Policy.Validate return nothing else, one or several joined.
func ParamErrors(err error) []*ParamError {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*ParamError
		for _, e := range j.Unwrap() {
			out = append(out, ParamErrors(e)...)
		}
		return out
	}
	var pe *ParamError
	if errors.As(err, &pe) {
		return []*ParamError{pe}
	}
	return nil
}

func paramError(params []string, format string, args ...any) *ParamError {
	return &ParamError{Params: params, Problem: fmt.Sprintf(format, args...)}
}
