package doctor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/mapping"
	"github.com/otec-tools/sence-engine/engine/plan"
	"github.com/otec-tools/sence-engine/engine/source"
)

// SENCE asks for sessions cut at 45 minutes between clicks (the newest
// guide); block_dedication cuts them at its own session limit, an hour by
// default, kept in Moodle's plugin configuration.
const (
	senceSessionGap    = 2700
	dedicationPlugin   = "block_dedication"
	dedicationTable    = "block_dedication"
	dedicationSetting  = "session_limit"
	dedicationDefault  = 3600 // HOURSECS, what the block uses when the setting is empty
	dedicationSettings = "Administración del sitio > Extensiones > Bloques > Dedicación al curso (/admin/settings.php?section=blocksettingdedication), «Session limit» (block_dedication | session_limit) = 45 minutos"
)

// CheckDedicationBlock reads the dedication block's session limit when the
// plan reads the block's table, and warns when it is not SENCE's 45
// minutes, or when it cannot be read: the time SENCE receives is the
// block's, computed with that limit.
func CheckDedicationBlock(ctx context.Context, db *source.DB, pl *plan.Plan) diag.List {
	var ds diag.List
	reader := dedicationReader(pl)
	if reader == nil {
		return nil
	}
	at := reader.SQL.Pos
	for _, p := range pl.Mapping.Params {
		if p.Name == "dedicationSource" {
			at = p.Pos
		}
	}
	warn := func(format string, args ...any) {
		ds.Warnf(at.File, at.Line, at.Col, format, args...)
	}
	limit, found, err := dedicationLimit(ctx, db, pl.Mapping)
	switch {
	case err != nil:
		warn("no se pudo leer el límite de sesión del bloque «Dedicación al curso» en {config_plugins} (%v): compruebe a mano que SENCE reciba sesiones de 45 minutos entre clics como máximo: %s", err, dedicationSettings)
	case !found:
		warn("el bloque «Dedicación al curso» no tiene guardado su límite de sesión, así que corta las sesiones tras %s sin clics (su valor por omisión); SENCE pide 45 minutos (2700 s): configúrelo en %s", minutes(dedicationDefault), dedicationSettings)
	case limit != senceSessionGap:
		warn("el bloque «Dedicación al curso» corta las sesiones tras %s sin clics (block_dedication | session_limit = %d s); SENCE pide 45 minutos (2700 s): cámbielo en %s. El bloque no recalcula las sesiones ya guardadas (su script blocks/dedication/cli/recalculate.php lo hace)", minutes(limit), limit, dedicationSettings)
	}
	return ds
}

// ReadsDedicationBlock reports whether the plan reads the dedication
// block's table (params.dedicationSource: block in the preset).
func ReadsDedicationBlock(pl *plan.Plan) bool { return dedicationReader(pl) != nil }

// dedicationReader is the first query that runs and reads block_dedication.
func dedicationReader(pl *plan.Plan) *plan.Query {
	for _, q := range pl.Queries {
		if q.Skipped || q.Level < 0 || q.SQL.IsZero() {
			continue
		}
		if slices.ContainsFunc(source.Tables(q.SQL.Src), func(r source.Ref) bool { return r.Name == dedicationTable }) {
			return q
		}
	}
	return nil
}

// dedicationLimit reads block_dedication's session_limit in seconds; found
// is false when the setting is missing or empty (the block then uses an
// hour).
func dedicationLimit(ctx context.Context, db *source.DB, m *mapping.Mapping) (int64, bool, error) {
	text, args, err := source.Expand("SELECT c.value AS value FROM {config_plugins} c WHERE c.plugin = :plugin AND c.name = :name", m.Source.Prefix,
		func(name string) (any, bool) {
			switch name {
			case "plugin":
				return dedicationPlugin, true
			case "name":
				return dedicationSetting, true
			}
			return nil, false
		})
	if err != nil {
		return 0, false, err
	}
	tx, err := db.ReadTx(ctx)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	rows, err := db.Query(ctx, tx, text, args, map[string]string{"value": "string"})
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var value string
	found := false
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return 0, false, err
		}
		value, _ = vals[0].(string)
		found = true
	}
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	value = strings.TrimSpace(value)
	if !found || value == "" || value == "0" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("el valor guardado «%s» no es un número de segundos", value)
	}
	return n, true, nil
}

func minutes(seconds int64) string {
	if seconds%60 == 0 {
		if seconds == 60 {
			return "1 minuto"
		}
		return fmt.Sprintf("%d minutos", seconds/60)
	}
	return fmt.Sprintf("%d segundos", seconds)
}
