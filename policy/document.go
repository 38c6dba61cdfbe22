package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Document is a policy document as written: IAM's shape.
type Document struct {
	Version   string     `json:"Version,omitempty"`
	Statement Statements `json:"Statement"`

	// Source names where the document came from (a file), for messages and decisions.
	Source string `json:"-"`
}

// Statement is one rule of a document.
type Statement struct {
	Sid         string                           `json:"Sid,omitempty"`
	Effect      string                           `json:"Effect"`
	Action      StringList                       `json:"Action,omitempty"`
	NotAction   StringList                       `json:"NotAction,omitempty"`
	Resource    StringList                       `json:"Resource,omitempty"`
	NotResource StringList                       `json:"NotResource,omitempty"`
	Condition   map[string]map[string]StringList `json:"Condition,omitempty"`
}

// Statements takes a list of statements, or one statement on its own as IAM does.
type Statements []Statement

// UnmarshalJSON implements json.Unmarshaler.
func (s *Statements) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var one Statement
		if err := strictUnmarshal(t, &one); err != nil {
			return err
		}
		*s = Statements{one}
		return nil
	}
	var many []Statement
	if err := strictUnmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// StringList is a value IAM lets you write as one string or as a list; numbers and booleans
// are taken as their text, as IAM does ("900" and 900 are the same).
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	items, isList := raw.([]any)
	if !isList {
		items = []any{raw}
	}
	out := make(StringList, 0, len(items))
	for _, it := range items {
		switch v := it.(type) {
		case string:
			out = append(out, v)
		case float64:
			out = append(out, strconv.FormatFloat(v, 'f', -1, 64))
		case bool:
			out = append(out, strconv.FormatBool(v))
		default:
			return fmt.Errorf("want a string, number or boolean, got %s", bytes.TrimSpace(b))
		}
	}
	*l = out
	return nil
}

// MarshalJSON writes a single value as a string, as people write it.
func (l StringList) MarshalJSON() ([]byte, error) {
	if len(l) == 1 {
		return json.Marshal(l[0])
	}
	return json.Marshal([]string(l))
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Error is a refused document: it names the source, the statement and the field.
type Error struct {
	Source    string
	Statement string // Sid, or "#N" counting from 1
	Field     string
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("policy")
	if e.Source != "" {
		b.WriteString(" " + e.Source)
	}
	if e.Statement != "" {
		b.WriteString(": statement " + e.Statement)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// maxDocumentSize bounds what Parse reads; IAM's own limit for managed policies is 6 KiB.
const maxDocumentSize = 128 << 10

// Parse reads and validates one document. source names it in errors.
func Parse(source string, data []byte) (*Document, error) {
	if len(data) > maxDocumentSize {
		return nil, &Error{Source: source, Err: fmt.Errorf("document is %d bytes, the limit is %d", len(data), maxDocumentSize)}
	}
	var d Document
	if err := strictUnmarshal(data, &d); err != nil {
		return nil, &Error{Source: source, Err: fmt.Errorf("not a valid policy document: %w", err)}
	}
	d.Source = source
	if _, err := Compile(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ParseJSON is Parse for a document given inline (the simulator's input).
func ParseJSON(source string, raw json.RawMessage) (*Document, error) { return Parse(source, raw) }

func statementName(s *Statement, i int) string {
	if s.Sid != "" {
		return s.Sid
	}
	return "#" + strconv.Itoa(i+1)
}

var errEmpty = errors.New("must not be empty")
