package nightly

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/sence"
)

// Historian reads SENCE's history; *sence.Client is one.
type Historian interface {
	History(ctx context.Context, q sence.HistoryQuery) ([]sence.Process, error)
}

// SeedResult counts what a seed learnt.
type SeedResult struct {
	Processes int // processes read
	Records   int // records SENCE stored (estado_registro 1)
	Students  int // distinct course-students with values
}

// Seed reads historialEnvios since a date (YYYY-MM-DD) and records, for
// every student and module SENCE stored, the last values it accepted, so
// that a first run never contradicts what another tool sent before. A
// value the ledger already knows from a later moment is kept.
func Seed(ctx context.Context, l *ledger.Ledger, h Historian, since string) (SeedResult, error) {
	procs, err := h.History(ctx, sence.HistoryQuery{Since: since})
	if err != nil {
		return SeedResult{}, err
	}
	// Oldest first, so that a later process overwrites an earlier one.
	slices.SortStableFunc(procs, func(a, b sence.Process) int {
		if c := strings.Compare(a.Fecha, b.Fecha); c != 0 {
			return c
		}
		return int(a.ID() - b.ID())
	})
	res := SeedResult{Processes: len(procs)}
	values := map[[4]string]ledger.Value{}
	students := map[[3]string]bool{}
	for _, p := range procs {
		at := historyTime(p.Fecha)
		for _, r := range p.Registros {
			key := r.StudentRUT()
			if !r.OK() || key == "" {
				continue
			}
			res.Records++
			oferta, grupo := strings.TrimSpace(r.OfertaCod), strings.TrimSpace(r.SeccionCod)
			students[[3]string{oferta, grupo, key}] = true
			base := ledger.Value{CodigoOferta: oferta, CodigoGrupo: grupo, RUT: key, At: at, Source: ledger.FromHistory}
			st := base
			st.PorcentajeAvance, st.Estado, st.TiempoConectividad = percent(r.PorcentajeAvance), integer(r.Estado), int64(integer(r.TiempoConectividad))
			values[[4]string{oferta, grupo, key, ""}] = st
			if mod := strings.TrimSpace(r.ModCod); mod != "" {
				m := base
				m.Modulo = mod
				m.PorcentajeAvance, m.Estado, m.TiempoConectividad = percent(r.ModPorcentajeAvance), integer(r.ModEstado), int64(integer(r.ModTiempoConectividad))
				values[[4]string{oferta, grupo, key, mod}] = m
			}
		}
	}
	res.Students = len(students)
	out := make([]ledger.Value, 0, len(values))
	for _, v := range values {
		out = append(out, v)
	}
	return res, l.Seed(ctx, out)
}

// historyTime reads a history "fecha" ("2026-11-20 22:05:03", Santiago).
func historyTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, chile.Location); err == nil {
			return t
		}
	}
	return time.Time{}
}

// percent reads "10.00000" as 10 (rounded: SENCE stores integers).
func percent(s string) int {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0
	}
	return int(math.Round(f))
}

func integer(s string) int { return percent(s) }
