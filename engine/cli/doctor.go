package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/otec-tools/sence-engine/engine/doctor"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
	"github.com/otec-tools/sence-engine/engine/sence/schema"
)

// cmdDoctor says whether the Moodle site is ready to report to SENCE
// (engine/doctor): 0 ready, 1 with findings, 3 when the check could not
// finish.
func cmdDoctor(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "doctor", "MAPEO.yaml")
	date := fs.String("date", "", "fecha de reporte `AAAA-MM-DD` con que se construyen los cursos (por omisión, hoy en America/Santiago)")
	asJSON := fs.Bool("json", false, "muestra la revisión en JSON")
	pos, code, done := fs.parseN(args, 1, 1)
	if done {
		return code
	}
	d, err := reportDate(e, *date)
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitUsage
	}
	plan, ds := loadPlan(e, pos[0])
	if plan == nil || ds.HasErrors() {
		ds.Print(e.Stdout)
		fmt.Fprintln(e.Stderr, "el mapeo tiene errores: corríjalos (engine validate) y vuelva a ejecutar engine doctor")
		return ExitProblems
	}
	m := plan.Mapping
	db, err := openSource(ctx, m)
	if err != nil {
		fmt.Fprintf(e.Stdout, "La base de datos de Moodle no responde:\n  PROBLEMA  %v\n", err)
		return ExitProblems
	}
	defer db.Close()
	v, err := schema.New()
	if err != nil {
		fmt.Fprintln(e.Stderr, err)
		return ExitFailed
	}
	// The payloads are validated as export validates them; the RUT of the
	// OTEC is SENCE's business, not Moodle's, so a placeholder stands in
	// for a missing one.
	rutOtec := m.Sence.RutOtec
	if _, err := rut.Parse(rutOtec); err != nil {
		rutOtec = "76543210-3"
	}
	rep, err := doctor.Run(ctx, db, plan, doctor.Options{ReportDate: d, Now: e.Now, Check: checker(v, rutOtec, payload.RedactedToken)})
	if err != nil {
		fmt.Fprintf(e.Stderr, "engine doctor no pudo terminar la revisión: %v\n", err)
		return ExitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(rep)
	} else {
		rep.WriteText(e.Stdout)
	}
	if !rep.Ready() {
		return ExitProblems
	}
	return ExitOK
}
