package auth

import (
	"context"
	"slices"
	"time"

	"github.com/caddy-mfa/caddy-mfa/identity"
)

// ReportRow is one user of the credential report (IAM's GetCredentialReport, for MFA).
type ReportRow struct {
	User        *identity.User
	MFAActive   bool
	Devices     int
	DeviceTypes []string // of the enabled devices, each once
	LastMFAUse  time.Time
	AccessKeys  int
	LockedUntil time.Time
}

// Report is the credential report: one row a user.
func (s *Service) Report(ctx context.Context) ([]ReportRow, error) {
	users, err := s.Users.List(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]ReportRow, 0, len(users))
	for _, u := range users {
		row, err := s.reportRow(ctx, u)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (s *Service) reportRow(ctx context.Context, u *identity.User) (ReportRow, error) {
	row := ReportRow{User: u, DeviceTypes: []string{}}
	ds, err := s.Devices.ForUser(ctx, u.Name)
	if err != nil {
		return row, err
	}
	ks, err := s.AccessKeys.ForUser(ctx, u.Name)
	if err != nil {
		return row, err
	}
	if row.LockedUntil, err = s.LockedUntil(ctx, u.Name); err != nil {
		return row, err
	}
	row.Devices, row.AccessKeys = len(ds), len(ks)
	for _, d := range ds {
		if !d.Enabled {
			continue
		}
		row.MFAActive = true
		if !slices.Contains(row.DeviceTypes, d.Type) {
			row.DeviceTypes = append(row.DeviceTypes, d.Type)
		}
		if d.LastUsed.After(row.LastMFAUse) {
			row.LastMFAUse = d.LastUsed
		}
	}
	return row, nil
}
