package pipeline

import (
	"context"
	"time"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/doctor"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
)

// Validate checks a mapping: what Load and the plan's compiler find,
// what a send will need, the files it names and, with db, every query
// against the database (doctor.CheckDatabase). It returns every
// diagnostic, warnings included.
func Validate(ctx context.Context, path string, lookupEnv func(string) (string, bool), db bool) diag.List {
	pl, ds := Load(path, lookupEnv)
	if pl == nil {
		return ds
	}
	ds = append(ds, senceWarnings(pl.Mapping)...)
	ds = append(ds, plan.CheckFiles(pl.Mapping)...)
	if db && !ds.HasErrors() {
		ds = append(ds, checkDB(ctx, pl)...)
	}
	return ds
}

// senceWarnings flags what a send will need but a review does not.
func senceWarnings(m *mapping.Mapping) diag.List {
	var ds diag.List
	s := m.Sence
	if s.RutOtec == "" {
		ds.Warnf(m.File, 0, 0, "sence.rutOtec no está definido: se necesita para exportar y enviar")
	}
	if s.Token == "" && s.TokenFile == "" && !s.Simulator && !m.Unresolved["sence.token"] {
		ds.Warnf(m.File, 0, 0, "sence.token (o sence.tokenFile) no está definido: se necesita para enviar; use token: ${SENCE_TOKEN}")
	}
	return ds
}

// checkDB runs each query against the live database without fetching
// rows; a failed connection is one error where the user's file sets the
// DSN.
func checkDB(ctx context.Context, pl *plan.Plan) diag.List {
	var ds diag.List
	m := pl.Mapping
	db, err := Open(ctx, m)
	if err != nil {
		p := m.Source.DSNPos
		if p.File == "" || m.InPreset(p) {
			p = m.Source.Pos
		}
		file := p.File
		if file == "" {
			file = m.File
		}
		ds.Errorf(file, p.Line, p.Col, "%v", err)
		return ds
	}
	defer db.Close()
	return doctor.CheckDatabase(ctx, db, pl)
}

// Doctor says whether the Moodle site is ready to report to SENCE
// (engine/doctor), building every course as export does. The error is a
// database that does not answer (Problems: a finding) or a check that
// could not finish (Failed). progress (nil: none) is told how far the
// courses' build is.
func Doctor(ctx context.Context, pl *plan.Plan, reportDate time.Time, now func() time.Time, progress func(BuildProgress)) (*doctor.Report, error) {
	m := pl.Mapping
	db, err := Open(ctx, m)
	if err != nil {
		return nil, fail(Problems, err)
	}
	defer db.Close()
	v, err := schema.New()
	if err != nil {
		return nil, fail(Failed, err)
	}
	// The payloads are validated as export validates them; the RUT of the
	// OTEC is SENCE's business, not Moodle's, so a placeholder stands in
	// for a missing one.
	rutOtec := m.Sence.RutOtec
	if _, err := rut.Parse(rutOtec); err != nil {
		rutOtec = "76543210-3"
	}
	track := newBuildTracker(now, progress)
	rep, err := doctor.Run(ctx, db, pl, doctor.Options{ReportDate: reportDate, Now: now, Check: checker(v.Check, rutOtec, payload.RedactedToken),
		OnBatch: track.batch, OnCourse: track.course})
	if err != nil {
		return nil, fail(Failed, err)
	}
	return rep, nil
}
