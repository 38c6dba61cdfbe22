package sim

import (
	"encoding/xml"
	"io"
)

// JUnit XML, the report CI systems (GitHub Actions, GitLab, Jenkins) read: one testsuite per
// case file, one testcase per case, a failure for each that disagrees.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the verdicts of one case file as JUnit XML.
func WriteJUnit(w io.Writer, suite string, verdicts []Verdict) error {
	s := junitSuite{Name: suite, Tests: len(verdicts)}
	for _, v := range verdicts {
		tc := junitCase{Name: v.Case.Name, ClassName: suite}
		if !v.Pass {
			s.Failures++
			tc.Failure = &junitFailure{Message: v.String(), Text: v.String()}
		}
		s.Cases = append(s.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
