package tile

import (
	"errors"
	"fmt"
	"strings"
)

// ParseShape parses a name written by [Shape.String], e.g.
// "forward-256x1024x1024-T4-tol64", and validates the shape. Only the exact
// spelling String writes is accepted, so a name is one shape's key in a
// directory of keys.
func ParseShape(name string) (Shape, error) {
	var s Shape
	if name == "" {
		return s, errors.New("tile: empty shape name")
	}
	kind, rest, ok := strings.Cut(name, "-")
	switch {
	case !ok:
	case kind == Forward.String():
		s.Kind = Forward
	case kind == Backward.String():
		s.Kind = Backward
	case kind == Tie.String():
		s.Kind = Tie
	case kind == Input.String():
		s.Kind = Input
	case kind == Embed.String():
		s.Kind = Embed
	default:
		ok = false
	}
	if ok {
		var err error
		if s.Kind.usesTables() {
			_, err = fmt.Sscanf(rest, "%dx%dx%d-V%d-T%d-tol%d", &s.Rows, &s.Inner, &s.Outer, &s.Vocab, &s.T, &s.TolULP)
		} else {
			_, err = fmt.Sscanf(rest, "%dx%dx%d-T%d-tol%d", &s.Rows, &s.Inner, &s.Outer, &s.T, &s.TolULP)
		}
		ok = err == nil && s.String() == name
	}
	if !ok {
		return Shape{}, fmt.Errorf("tile: shape name %q: want kind-RxIxO-T<t>-tol<ulp> (input-RxKxD-V<vocab>-T<t>-tol0 for an input tile, embed-… for an embed tile), e.g. %s",
			name, StandardShapes()[0])
	}
	if err := s.Validate(); err != nil {
		return Shape{}, fmt.Errorf("shape name %q: %w", name, err)
	}
	return s, nil
}
