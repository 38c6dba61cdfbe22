package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"

	"go.uber.org/zap"
)

//go:embed templates
var templateFiles embed.FS

// layout is the frame of every page; each page defines "content" in it.
var layout = template.Must(template.ParseFS(templateFiles, "templates/layout.html"))

var statusPage = ParsePage(templateFiles, "templates/status.html")

// ParsePage is a page of fsys drawn in the common layout.
func ParsePage(fsys fs.FS, file string) *template.Template {
	return template.Must(template.Must(layout.Clone()).ParseFS(fsys, file))
}

// Page is what the layout and the status page draw; a room's own pages embed it.
type Page struct {
	Title, Issuer, Prefix string
	User                  string
	MFA, CanSignOut       bool
	CSRF, Return          string
	Error, Notice         string

	Message, Link, LinkText string // status
	SignOutForm             bool   // status
}

// Pages draws the pages of one mount of the gateway (its prefix and issuer).
type Pages struct {
	Issuer, Prefix string
	Log            *zap.Logger
}

// NewPage is a page with the mount's frame, and the return path the request carries.
func (p *Pages) NewPage(r *http.Request, title string) Page {
	return Page{Title: title, Issuer: p.Issuer, Prefix: p.Prefix, Return: SafeReturn(FormValue(r, "return"))}
}

// Render draws data with t into the response, whole or not at all.
func (p *Pages) Render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		p.Log.Error("rendering page", zap.String("page", t.Name()), zap.Error(err))
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// RenderStatus answers with the status page: a title, a message and a link home.
func (p *Pages) RenderStatus(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	page := p.NewPage(r, title)
	page.Message, page.Link, page.LinkText = message, "/", "Home"
	p.Render(w, status, statusPage, &page)
}

// RenderStatusPage answers with a status page drawn from page.
func (p *Pages) RenderStatusPage(w http.ResponseWriter, status int, page *Page) {
	p.Render(w, status, statusPage, page)
}
