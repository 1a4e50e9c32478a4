package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// resolvePending finishes what earlier runs left pending for a course:
// each pending send is looked up in SENCE's history by its codigoEnvio
// (sence.Decide). Found, its outcome is recorded without sending anything;
// not received, it is sent again tonight (the same codigoEnvio if the data
// did not change) or, from an earlier night, replaced by tonight's send;
// still unconfirmed when the window closes or the run stops, tonight's
// course is not sent («sin confirmar»).
func (s *Session) resolvePending(ctx context.Context, key string) {
	for _, p := range s.takePending(key) {
		s.resolveOne(ctx, p)
	}
}

// takePending hands the sends earlier runs left pending for a course to
// the one turn that resolves them: the course's, or the leftovers' when
// no course of that key is built tonight.
func (s *Session) takePending(key string) []*ledger.Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	pend := s.pending[key]
	delete(s.pending, key)
	return pend
}

func (s *Session) resolveOne(ctx context.Context, p *ledger.Send) {
	log := s.cfg.Log.With("codigoOferta", p.CodigoOferta, "codigoGrupo", p.CodigoGrupo, "codigoEnvio", p.CodigoEnvio)
	rs := ResumedSend{CodigoOferta: p.CodigoOferta, CodigoGrupo: p.CodigoGrupo, CodigoEnvio: p.CodigoEnvio}
	defer func() {
		s.mu.Lock()
		s.report.Resumed = append(s.report.Resumed, rs)
		s.mu.Unlock()
	}()
	key := courseKey(p.CodigoOferta, p.CodigoGrupo)
	tonight := p.Night == s.cfg.Night
	var course payload.Course
	if err := json.Unmarshal(p.Request, &course); err != nil {
		// Without its request it cannot be looked up: never resend blindly.
		s.note(ctx, key, p, "el envío registrado está dañado: "+err.Error())
		rs.Result = fmt.Sprintf("sin confirmar: el envío registrado está dañado (%v); búsquelo en el historial de SENCE con el codigoEnvio %s", err, p.CodigoEnvio)
		if tonight {
			s.setUnresolved(key, p)
		}
		return
	}
	if f := s.fatalMsg(); f != "" {
		rs.Result = "sin confirmar: no se consultó el historial de SENCE (" + f + ")"
		if tonight {
			s.setUnresolved(key, p)
		}
		return
	}
	res, err := s.cfg.Sender.Resolve(context.WithoutCancel(ctx), course, p.PostedAt, s.options(ctx))
	switch {
	case err != nil:
		s.note(ctx, key, p, err.Error())
		if errors.Is(err, sence.ErrAuth) {
			s.setFatal("SENCE rechazó las credenciales al consultar el historial: " + err.Error())
		}
		if tonight {
			s.setUnresolved(key, p)
		}
		rs.Result = err.Error()
		if errors.Is(err, sence.ErrDown) {
			// SENCE does not answer: the run's summary says so once.
			log.Info("un envío pendiente quedó sin confirmar: SENCE no responde")
		} else {
			log.Warn("un envío pendiente quedó sin confirmar en el historial de SENCE", "error", err.Error())
		}
	case res != nil:
		if comp, err := s.record(ctx, p, course, res); err != nil {
			// SENCE has it: whatever the ledger says, nothing is sent.
			rs.Result = "SENCE lo tiene, pero no se pudo registrar: " + err.Error()
			if tonight {
				s.setUnresolved(key, p)
			}
		} else {
			rs.Result = fmt.Sprintf("SENCE ya lo tenía (proceso %s, %s): se registró su resultado sin reenviarlo", orDash(res.IDProceso), comp.Status)
			rs.IDProceso = res.IDProceso
		}
		log.Info("envío pendiente encontrado en el historial de SENCE: se registra sin reenviar", "id_proceso", res.IDProceso)
	case tonight:
		if err := s.cfg.Ledger.Unposted(ctx, p.ID, "SENCE no lo recibió (confirmado en el historial)"); err != nil {
			rs.Result = "SENCE no lo recibió (confirmado en el historial), pero no se pudo registrar: " + err.Error()
			s.ledgerFailed(key, "registrar que SENCE no recibió el envío "+p.CodigoEnvio, err)
			return
		}
		s.mu.Lock()
		s.retry[key] = p
		s.mu.Unlock()
		rs.Result = "SENCE no lo recibió (confirmado en el historial): el curso se envía esta noche"
		log.Info("un envío pendiente no llegó a SENCE: se envía de nuevo")
	default:
		if err := s.cfg.Ledger.Fail(ctx, p.ID, s.cfg.Now(), nil, "SENCE no lo recibió (confirmado en el historial); lo reemplaza el envío de la noche "+s.cfg.Night); err != nil {
			rs.Result = "SENCE no lo recibió (confirmado en el historial), pero no se pudo registrar: " + err.Error()
			s.ledgerFailed(key, "cerrar el envío "+p.CodigoEnvio+" de una noche anterior", err)
			return
		}
		rs.Result = "SENCE no lo recibió (confirmado en el historial): lo reemplaza el envío de esta noche"
	}
}

func (s *Session) setUnresolved(key string, p *ledger.Send) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unresolved[key] = p
}

func (s *Session) unresolvedSend(key string) *ledger.Send {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unresolved[key]
}
