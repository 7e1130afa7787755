/* Counter applications: the state machine (one transition table), opening,
 * preview, approval, completion by kind, rejection.  Every transition is
 * written with its history record and its audit record in one store
 * transaction. */
#include <stdio.h>
#include <string.h>

#include "openjpki/util.h"
#include "reg_int.h"

/* ---- names -------------------------------------------------------------- */

static const char *const kind_names[] = {
    [STORE_APP_NEW_CARD] = "new-card", [STORE_APP_ISSUE] = "issue",
    [STORE_APP_RENEWAL] = "renewal",   [STORE_APP_REISSUE] = "reissue",
    [STORE_APP_REVOKE] = "revoke",     [STORE_APP_PIN_RESET] = "pin-reset",
    [STORE_APP_LOSS] = "loss",	       [STORE_APP_FOUND] = "found",
};

static const char *const state_names[] = {
    [STORE_APP_RECEIVED] = "received",
    [STORE_APP_INQUIRY_SENT] = "inquiry_sent",
    [STORE_APP_INQUIRY_ANSWERED] = "inquiry_answered",
    [STORE_APP_APPROVED] = "approved",
    [STORE_APP_CARD_ORDERED] = "card_ordered",
    [STORE_APP_CARD_PRODUCED] = "card_produced",
    [STORE_APP_CARD_READY] = "card_ready",
    [STORE_APP_COMPLETED] = "completed",
    [STORE_APP_REJECTED] = "rejected",
    [STORE_APP_CANCELLED] = "cancelled",
};

static const char *const applicant_names[] = {
    [STORE_APPLICANT_SELF] = "self",
    [STORE_APPLICANT_PROXY] = "proxy",
    [STORE_APPLICANT_LEGAL] = "legal",
};

static const char *const role_names[] = {
    [STORE_DOC_HOLDER] = "holder",
    [STORE_DOC_AGENT] = "agent",
};

#define NAMES_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *names, int n, int v)
{
	return v >= 0 && v < n && names[v] != NULL ? names[v] : "unknown";
}

static int parse_name(const char *const *names, int n, const char *s,
		      const char *what, int *out, jpki_err *err)
{
	for (int i = 0; s != NULL && i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0) {
			*out = i;
			return 0;
		}
	char list[160] = "";
	size_t len = 0;
	for (int i = 0; i < n && len < sizeof(list); i++)
		if (names[i] != NULL)
			len +=
			    (size_t)snprintf(list + len, sizeof(list) - len,
					     "%s%s", len ? ", " : "", names[i]);
	return jpki_fail(err, JPKI_ERR_INVAL, "unknown %s \"%s\" (one of: %s)",
			 what, s != NULL ? s : "", list);
}

const char *registry_app_kind_name(store_app_kind k)
{
	return name_of(kind_names, NAMES_N(kind_names), (int)k);
}

const char *registry_app_state_name(store_app_state s)
{
	return name_of(state_names, NAMES_N(state_names), (int)s);
}

const char *registry_applicant_name(store_app_applicant a)
{
	return name_of(applicant_names, NAMES_N(applicant_names), (int)a);
}

const char *registry_doc_role_name(store_doc_role r)
{
	return name_of(role_names, NAMES_N(role_names), (int)r);
}

int registry_app_kind_parse(const char *s, store_app_kind *out, jpki_err *err)
{
	int v = 0;
	int rc = parse_name(kind_names, NAMES_N(kind_names), s,
			    "application kind", &v, err);
	if (rc == 0)
		*out = (store_app_kind)v;
	return rc;
}

int registry_applicant_parse(const char *s, store_app_applicant *out,
			     jpki_err *err)
{
	int v = 0;
	int rc = parse_name(applicant_names, NAMES_N(applicant_names), s,
			    "applicant", &v, err);
	if (rc == 0)
		*out = (store_app_applicant)v;
	return rc;
}

int registry_doc_role_parse(const char *s, store_doc_role *out, jpki_err *err)
{
	int v = 0;
	int rc = parse_name(role_names, NAMES_N(role_names), s, "document role",
			    &v, err);
	if (rc == 0)
		*out = (store_doc_role)v;
	return rc;
}

/* ---- the transition table ----------------------------------------------- */

#define K(k) (1u << (k))
#define CARD_KINDS (K(STORE_APP_NEW_CARD) | K(STORE_APP_REISSUE))
#define ALL_KINDS 0x1FEu
#define HELD_KINDS (ALL_KINDS & ~CARD_KINDS)
#define ANY_OPEN (-1)

static const struct transition {
	const char *event;
	int from; /* store_app_state, or ANY_OPEN */
	store_app_state to;
	unsigned kinds; /* K(store_app_kind) */
} transitions[] = {
    {"send_inquiry", STORE_APP_RECEIVED, STORE_APP_INQUIRY_SENT, ALL_KINDS},
    {"answer_inquiry", STORE_APP_INQUIRY_SENT, STORE_APP_INQUIRY_ANSWERED,
     ALL_KINDS},
    {"approve", STORE_APP_RECEIVED, STORE_APP_APPROVED, HELD_KINDS},
    {"approve", STORE_APP_INQUIRY_ANSWERED, STORE_APP_APPROVED, HELD_KINDS},
    {"approve", STORE_APP_RECEIVED, STORE_APP_CARD_ORDERED, CARD_KINDS},
    {"approve", STORE_APP_INQUIRY_ANSWERED, STORE_APP_CARD_ORDERED, CARD_KINDS},
    {"card_produced", STORE_APP_CARD_ORDERED, STORE_APP_CARD_PRODUCED,
     CARD_KINDS},
    {"card_ready", STORE_APP_CARD_PRODUCED, STORE_APP_CARD_READY, CARD_KINDS},
    {"complete", STORE_APP_APPROVED, STORE_APP_COMPLETED, HELD_KINDS},
    {"complete", STORE_APP_CARD_READY, STORE_APP_COMPLETED, CARD_KINDS},
    {"reject", ANY_OPEN, STORE_APP_REJECTED, ALL_KINDS},
    {"cancel", ANY_OPEN, STORE_APP_CANCELLED, ALL_KINDS},
};

static const struct transition *find_transition(const store_app *a,
						const char *event)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]);
	     i++) {
		const struct transition *t = &transitions[i];
		if (strcmp(t->event, event) != 0 || !(t->kinds & K(a->kind)))
			continue;
		if (t->from == (int)a->state ||
		    (t->from == ANY_OPEN && a->state < STORE_APP_COMPLETED))
			return t;
	}
	return NULL;
}

static int check_transition(const store_app *a, const char *event,
			    jpki_err *err)
{
	if (find_transition(a, event) != NULL)
		return 0;
	return jpki_fail(err, JPKI_ERR_STATE,
			 "application %lld (%s) is %s: %s is not allowed now",
			 (long long)a->id, registry_app_kind_name(a->kind),
			 registry_app_state_name(a->state), event);
}

static int record(store *st, store_app *a, const char *event,
		  store_app_state from, time_t now, const char *actor,
		  const char *detail, jpki_err *err)
{
	store_app_event e;
	char audit[1024];
	int rc;
	memset(&e, 0, sizeof(e));
	e.app_id = a->id;
	e.at = now;
	if (jpki_strlcpy(e.actor, REG_ACTOR(actor), sizeof(e.actor)) != 0 ||
	    jpki_strlcpy(e.event, event, sizeof(e.event)) != 0 ||
	    (detail != NULL &&
	     jpki_strlcpy(e.detail, detail, sizeof(e.detail)) != 0))
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "application %lld: event %s: actor, name or "
				 "detail too long",
				 (long long)a->id, event);
	e.from_state = from;
	e.to_state = a->state;
	snprintf(audit, sizeof(audit),
		 "app=%lld resident=%lld kind=%s from=%s to=%s%s%s",
		 (long long)a->id, (long long)a->resident_id,
		 registry_app_kind_name(a->kind), registry_app_state_name(from),
		 registry_app_state_name(a->state), e.detail[0] ? " " : "",
		 e.detail);
	char action[64];
	snprintf(action, sizeof(action), "application.%s", event);
	if ((rc = store_app_event_add(st, &e, err)) != 0 ||
	    (rc = store_audit_append(st, now, REG_ACTOR(actor), action, audit,
				     err)) != 0)
		return rc;
	return 0;
}

int reg_app_move(store *st, store_app *a, const char *event, time_t now,
		 const char *actor, const char *detail, jpki_err *err)
{
	const struct transition *t = find_transition(a, event);
	if (t == NULL)
		return check_transition(a, event, err);
	store_app_state from = a->state;
	a->state = t->to;
	a->updated_at = now;
	int rc = store_app_update(st, a, err);
	if (rc != 0)
		return rc;
	return record(st, a, event, from, now, actor, detail, err);
}

int reg_app_note(store *st, store_app *a, const char *event, time_t now,
		 const char *actor, const char *detail, jpki_err *err)
{
	a->updated_at = now;
	int rc = store_app_update(st, a, err);
	if (rc != 0)
		return rc;
	return record(st, a, event, a->state, now, actor, detail, err);
}

int reg_app_load_open(store *st, int64_t id, store_app *out, jpki_err *err)
{
	store_app a;
	int rc = store_app_get(st, id, &a, err);
	if (rc != 0)
		return rc;
	if (a.state >= STORE_APP_COMPLETED)
		return jpki_fail(
		    err, JPKI_ERR_STATE, "application %lld is %s: it is closed",
		    (long long)id, registry_app_state_name(a.state));
	*out = a;
	return 0;
}

/* ---- what the resident holds -------------------------------------------- */

typedef struct holdings {
	const char *card; /* held certificates of this card only (NULL: any) */
	bool valid[3];	  /* newest status-valid certificate per kind */
	char serial[3][STORE_SERIAL_HEX_MAX];
	char card_of[3][40];
	jpki_date last_day[3];
	int n_hold;
	int hold_kind[4];
	char hold[4][STORE_SERIAL_HEX_MAX];
} holdings;

static int collect(void *ctx, const store_cert *c)
{
	holdings *h = ctx;
	if (c->kind != JPKI_CERT_SIGN && c->kind != JPKI_CERT_AUTH)
		return 0;
	if (c->status == STORE_CERT_VALID) {
		if (!h->valid[c->kind]) {
			h->valid[c->kind] = true;
			memcpy(h->serial[c->kind], c->serial,
			       STORE_SERIAL_HEX_MAX); /* same sizes */
			memcpy(h->card_of[c->kind], c->card_serial,
			       sizeof(h->card_of[0]));
			h->last_day[c->kind] = jpki_date_of(c->not_after);
		}
		return 0;
	}
	if (c->reason == JPKI_REASON_CERTIFICATE_HOLD && h->n_hold < 4 &&
	    (h->card == NULL || strcmp(h->card, c->card_serial) == 0)) {
		h->hold_kind[h->n_hold] = c->kind;
		memcpy(h->hold[h->n_hold++], c->serial, STORE_SERIAL_HEX_MAX);
	}
	return 0;
}

static int holdings_of(store *st, int64_t rid, const char *card, holdings *out,
		       jpki_err *err)
{
	holdings h;
	memset(&h, 0, sizeof(h));
	h.card = card != NULL && card[0] != '\0' ? card : NULL;
	int rc = store_cert_by_resident(st, rid, collect, &h, err);
	if (rc != 0)
		return rc;
	*out = h;
	return 0;
}

static bool on_card(const holdings *h, int kind)
{
	return h->valid[kind] &&
	       (h->card == NULL || strcmp(h->card_of[kind], h->card) == 0);
}

/* ---- the plan (rules_plan, computed once per step) ---------------------- */

int reg_plan(store *st, const store_app *a, const store_resident *r,
	     jpki_date today, jpki_plan *out, jpki_err *err)
{
	rules_plan_in in;
	holdings h;
	store_card card;
	int rc;
	memset(&in, 0, sizeof(in));
	in.person = (jpki_person){r->birth, r->adult_ward};
	in.today = today;
	in.app = (rules_app)a->kind;
	in.applicant = (rules_applicant)a->applicant;
	in.certs = a->certs;
	if (a->card_serial[0] != '\0') {
		if ((rc = store_card_get(st, a->card_serial, &card, err)) != 0)
			return rc;
		in.card_expiry = card.expiry;
		in.card_lost = card.status == STORE_CARD_LOST;
	}
	if ((rc = holdings_of(st, r->id, a->card_serial, &h, err)) != 0)
		return rc;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		in.held[k].valid = h.valid[k];
		in.held[k].on_card = on_card(&h, k);
		in.held[k].last_day = h.last_day[k];
		for (int i = 0; i < h.n_hold; i++)
			in.held[k].on_hold =
			    in.held[k].on_hold || h.hold_kind[i] == k;
	}
	return rules_plan(&in, out, err);
}

/* Certificates the completion would revoke (or hold, for a loss). */
typedef struct affected {
	int n;
	char serial[4][STORE_SERIAL_HEX_MAX];
	bool from_hold[4];
} affected;

static void affect(affected *af, const char *serial, bool held)
{
	/* serial: one of the holdings' STORE_SERIAL_HEX_MAX arrays */
	if (af->n < 4 && jpki_strlcpy(af->serial[af->n], serial,
				      STORE_SERIAL_HEX_MAX) == 0) {
		af->from_hold[af->n++] = held;
	}
}

/* The current certificates the plan revokes or holds, with their serials. */
static void affected_of(const jpki_plan *pl, const holdings *h, affected *af)
{
	memset(af, 0, sizeof(*af));
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		if (pl->cert[k].current == RULES_KEEP)
			continue;
		if (on_card(h, k))
			affect(af, h->serial[k], false);
		for (int i = 0; i < h->n_hold; i++)
			if (h->hold_kind[i] == k)
				affect(af, h->hold[i], true);
	}
}

/* Revoke or hold what the plan says, each with the plan's reason, in the
 * open transaction. */
static int revoke_planned(jpki_ca *ca, const jpki_plan *pl, const holdings *h,
			  const affected *af, time_t now, const char *actor,
			  registry_outcome *o, jpki_err *err)
{
	for (int i = 0; i < af->n; i++) {
		int kind = 0;
		for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH && !kind; k++)
			if (strcmp(h->serial[k], af->serial[i]) == 0)
				kind = k;
		for (int j = 0; j < h->n_hold && !kind; j++)
			if (strcmp(h->hold[j], af->serial[i]) == 0)
				kind = h->hold_kind[j];
		if (kind == 0 || pl->cert[kind].reason < 0)
			continue;
		int rc = ca_revoke(ca, af->serial[i],
				   (jpki_reason)pl->cert[kind].reason, now,
				   REG_ACTOR(actor), err);
		if (rc != 0)
			return rc;
		if (o != NULL && o->revoked < 4)
			memcpy(o->serials[o->revoked], af->serial[i],
			       STORE_SERIAL_HEX_MAX);
		if (o != NULL)
			o->revoked++;
	}
	return 0;
}

/* ---- opening ------------------------------------------------------------ */

typedef struct open_ctx {
	store_app_kind kind;
	int64_t found;
	store_app_state state;
} open_ctx;

static int find_open(void *vctx, const store_app *a)
{
	open_ctx *o = vctx;
	if (a->kind == o->kind && o->found == 0) {
		o->found = a->id;
		o->state = a->state;
	}
	return 0;
}

/* Per-kind checks of a new application against the resident's card and
 * certificates; may fill in a->certs (0 = what the holder has). */
static int check_request(store *st, store_app *a, const store_resident *r,
			 jpki_date today, jpki_plan *plan, jpki_err *err)
{
	store_card card;
	int rc;
	if (a->kind == STORE_APP_NEW_CARD) {
		if (a->card_serial[0] != '\0')
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "a new card application names no "
					 "held card");
	} else {
		if (a->card_serial[0] == '\0')
			return jpki_fail(err, JPKI_ERR_INVAL,
					 "a %s application names the holder's "
					 "card",
					 registry_app_kind_name(a->kind));
		if ((rc = store_card_get(st, a->card_serial, &card, err)) != 0)
			return rc;
		if (card.resident_id != a->resident_id)
			return jpki_fail(err, JPKI_ERR_STATE,
					 "card %s belongs to another resident",
					 a->card_serial);
		bool ok = a->kind == STORE_APP_FOUND
			      ? card.status == STORE_CARD_LOST
			  : a->kind == STORE_APP_REISSUE
			      ? card.status != STORE_CARD_RETIRED
			      : card.status == STORE_CARD_ACTIVE;
		if (!ok)
			return jpki_fail(
			    err, JPKI_ERR_STATE,
			    "card %s is %s: no %s application "
			    "for it",
			    a->card_serial,
			    card.status == STORE_CARD_LOST ? "reported lost"
			    : card.status == STORE_CARD_RETIRED ? "retired"
								: "active",
			    registry_app_kind_name(a->kind));
		if (a->kind == STORE_APP_ISSUE &&
		    jpki_date_cmp(card.expiry, today) < 0)
			return jpki_fail(err, JPKI_ERR_STATE,
					 "card %s expired on %04d-%02d-%02d",
					 a->card_serial, card.expiry.y,
					 card.expiry.m, card.expiry.d);
	}
	if (a->kind == STORE_APP_PIN_RESET && a->pins == 0)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "say which PINs to reset");
	if ((rc = reg_plan(st, a, r, today, plan, err)) != 0)
		return rc;
	if (a->certs == 0)
		a->certs = plan->certs;
	return 0;
}

int registry_app_open(jpki_ca *ca, const registry_app_req *req, time_t now,
		      const char *actor, store_app *out, jpki_err *err)
{
	store *st = ca_store(ca);
	store_resident r;
	store_app a;
	open_ctx oc = {req->kind, 0, STORE_APP_RECEIVED};
	jpki_plan plan;
	jpki_date today = jpki_date_of(now);
	char detail[256];
	memset(&plan, 0, sizeof(plan));
	if (req->refusal != NULL)
		memset(req->refusal, 0, sizeof(*req->refusal));
	int rc;
	memset(&a, 0, sizeof(a));
	a.resident_id = req->resident_id;
	a.kind = req->kind;
	a.state = STORE_APP_RECEIVED;
	a.applicant = req->applicant;
	a.certs = req->certs;
	a.pins = req->pins;
	a.opened_at = a.updated_at = now;
	if (req->kind < STORE_APP_NEW_CARD || req->kind > STORE_APP_FOUND)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application kind %d is unknown",
				 (int)req->kind);
	if (req->certs < 0 || req->certs > 3 || req->pins < 0 || req->pins > 7)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "certificate or PIN selection is invalid");
	if ((req->agent_name != NULL &&
	     jpki_strlcpy(a.agent_name, req->agent_name,
			  sizeof(a.agent_name)) != 0) ||
	    (req->card_serial != NULL &&
	     jpki_strlcpy(a.card_serial, req->card_serial,
			  sizeof(a.card_serial)) != 0) ||
	    (req->note != NULL &&
	     jpki_strlcpy(a.note, req->note, sizeof(a.note)) != 0))
		return jpki_fail(err, JPKI_ERR_RANGE,
				 "agent name, card serial or note too long");
	if ((rc = store_begin(st, err)) != 0)
		return rc;
	if ((rc = store_resident_get(st, req->resident_id, &r, err)) != 0)
		goto out;
	if (r.status != STORE_RESIDENT_LIVING) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "resident %lld has been removed from the "
			       "register",
			       (long long)r.id);
		goto out;
	}
	if ((rc = store_app_list(st, r.id, true, 64, find_open, &oc, err)) != 0)
		goto out;
	if (oc.found != 0) {
		rc = jpki_fail(err, JPKI_ERR_EXISTS,
			       "resident %lld already has an open %s "
			       "application (%lld, %s)",
			       (long long)r.id, registry_app_kind_name(a.kind),
			       (long long)oc.found,
			       registry_app_state_name(oc.state));
		goto out;
	}
	if ((rc = reg_applicant_check(&a, &r, today, err)) != 0 ||
	    (rc = check_request(st, &a, &r, today, &plan, err)) != 0 ||
	    (rc = store_app_add(st, &a, err)) != 0) {
		if (req->refusal != NULL && plan.code != NULL && !plan.ok)
			*req->refusal = plan;
		goto out;
	}
	snprintf(detail, sizeof(detail),
		 "applicant=%s certs=%d pins=%d card=%s",
		 registry_applicant_name(a.applicant), a.certs, a.pins,
		 a.card_serial[0] ? a.card_serial : "-");
	if ((rc = record(st, &a, "open", a.state, now, actor, detail, err)) !=
	    0)
		goto out;
	if (a.kind == STORE_APP_LOSS) {
		/* 紛失届: the hold takes effect when the report is received
		 * (J-LIS lost.html: 一時保留 on the call), not at the end of
		 * the case; the card is marked lost with it */
		holdings h;
		affected af;
		registry_outcome o;
		memset(&o, 0, sizeof(o));
		if ((rc = holdings_of(st, a.resident_id, a.card_serial, &h,
				      err)) != 0)
			goto out;
		affected_of(&plan, &h, &af);
		if ((rc = revoke_planned(ca, &plan, &h, &af, now, actor, &o,
					 err)) != 0 ||
		    (rc = reg_card_move(st, a.card_serial, a.resident_id,
					STORE_CARD_LOST, NULL, err)) != 0)
			goto out;
		snprintf(detail, sizeof(detail),
			 "card %s reported lost: %d certificate(s) on hold",
			 a.card_serial, af.n);
		if ((rc = reg_app_note(st, &a, "hold", now, actor, detail,
				       err)) != 0)
			goto out;
		if (req->held != NULL) {
			memset(req->held, 0, sizeof(*req->held));
			req->held->revoked = o.revoked;
			memcpy(req->held->serials, o.serials,
			       sizeof(o.serials));
		}
	}
	if ((rc = store_commit(st, err)) != 0)
		goto out;
	if (out != NULL)
		*out = a;
out:
	if (rc != 0)
		store_rollback(st);
	return rc;
}

/* ---- 照会書兼回答書 ---------------------------------------------------------
 */

int registry_app_send_inquiry(jpki_ca *ca, int64_t app_id, time_t now,
			      const char *actor, jpki_err *err)
{
	store *st = ca_store(ca);
	store_app a;
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = reg_app_load_open(st, app_id, &a, err)) != 0)
		goto out;
	if (a.applicant != STORE_APPLICANT_PROXY) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "the 照会書兼回答書 is for an application by a "
			       "任意代理人; application %lld is by the %s",
			       (long long)app_id,
			       a.applicant == STORE_APPLICANT_SELF
				   ? "holder"
				   : "法定代理人");
		goto out;
	}
	a.inquiry_sent = jpki_date_of(now);
	if ((rc = reg_app_move(st, &a, "send_inquiry", now, actor,
			       "照会書兼回答書 mailed to the holder's address",
			       err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		goto out;
out:
	if (rc != 0)
		store_rollback(st);
	return rc;
}

int registry_app_answer_inquiry(jpki_ca *ca, int64_t app_id, time_t now,
				const char *actor, jpki_err *err)
{
	store *st = ca_store(ca);
	store_app a;
	jpki_date today = jpki_date_of(now);
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = reg_app_load_open(st, app_id, &a, err)) != 0 ||
	    (rc = check_transition(&a, "answer_inquiry", err)) != 0)
		goto out;
	if (jpki_date_cmp(today, a.inquiry_sent) <= 0) {
		rc = jpki_fail(err, JPKI_ERR_STATE,
			       "the 照会書兼回答書 of application %lld was "
			       "mailed on %04d-%02d-%02d: the answer comes "
			       "back by post, never the same day",
			       (long long)app_id, a.inquiry_sent.y,
			       a.inquiry_sent.m, a.inquiry_sent.d);
		goto out;
	}
	a.inquiry_answered = today;
	if ((rc = reg_app_move(st, &a, "answer_inquiry", now, actor,
			       "回答書 brought back by the 任意代理人", err)) !=
		0 ||
	    (rc = store_commit(st, err)) != 0)
		goto out;
out:
	if (rc != 0)
		store_rollback(st);
	return rc;
}

/* ---- preview ------------------------------------------------------------ */

int registry_app_preview(jpki_ca *ca, int64_t app_id, time_t now,
			 registry_preview *out, jpki_err *err)
{
	store *st = ca_store(ca);
	registry_preview pv;
	store_resident r;
	holdings h;
	affected af;
	jpki_err derr = {0, ""};
	jpki_date today = jpki_date_of(now);
	int rc;
	memset(&pv, 0, sizeof(pv));
	if ((rc = store_app_get(st, app_id, &pv.app, err)) != 0 ||
	    (rc = store_resident_get(st, pv.app.resident_id, &r, err)) != 0 ||
	    (rc = holdings_of(st, r.id, pv.app.card_serial, &h, err)) != 0)
		return rc;
	const store_app *a = &pv.app;
	jpki_plan *pl = &pv.plan;
	rc = reg_plan(st, a, &r, today, pl, &derr);
	if (rc != 0 && pl->code == NULL)
		return jpki_fail(err, rc, "%s", derr.msg); /* bad input */
	pv.age = pl->age;
	pv.new_card = pl->new_card;
	pv.card_expiry = pl->card_expiry;
	for (int k = JPKI_CERT_SIGN; k <= JPKI_CERT_AUTH; k++) {
		const rules_plan_cert *c = &pl->cert[k];
		pv.want[k] = c->issue;
		pv.validity[k] = c->validity;
		if (c->asked && !c->issue &&
		    rules_app_issues((rules_app)a->kind))
			jpki_strlcpy_cut(pv.refused[k], c->en,
					 sizeof(pv.refused[k])); /* a message */
	}
	pv.fee = pl->fee;
	pv.fee_total = pl->fee_total;
	affected_of(pl, &h, &af);
	pv.affected = af.n;
	memcpy(pv.affected_serials, af.serial, sizeof(af.serial));
	pv.hold = a->kind == STORE_APP_LOSS;
	if (a->kind == STORE_APP_LOSS) {
		/* held on receipt: show what the report holds */
		pv.affected = 0;
		for (int i = 0; i < h.n_hold && pv.affected < 4; i++)
			memcpy(pv.affected_serials[pv.affected++], h.hold[i],
			       STORE_SERIAL_HEX_MAX);
	}
	if (a->state < STORE_APP_APPROVED) {
		pv.docs_ok = reg_docs_ready(st, a, today, &derr) == 0;
		if (!pv.docs_ok)
			jpki_strlcpy_cut(pv.docs_missing, derr.msg,
					 sizeof(pv.docs_missing));
	} else {
		pv.docs_ok = a->state < STORE_APP_COMPLETED;
	}
	*out = pv;
	return 0;
}

/* ---- approval ----------------------------------------------------------- */

int registry_app_approve(jpki_ca *ca, int64_t app_id, time_t now,
			 const char *actor, jpki_err *err)
{
	return registry_app_approve2(ca, app_id, now, actor, NULL, err);
}

int registry_app_approve2(jpki_ca *ca, int64_t app_id, time_t now,
			  const char *actor, registry_change_result *revoked,
			  jpki_err *err)
{
	store *st = ca_store(ca);
	store_app a;
	store_resident r;
	store_card card;
	holdings h;
	affected af;
	jpki_plan plan;
	registry_outcome o;
	jpki_date today = jpki_date_of(now);
	char detail[160] = "";
	memset(&o, 0, sizeof(o));
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = reg_app_load_open(st, app_id, &a, err)) != 0 ||
	    (rc = check_transition(&a, "approve", err)) != 0 ||
	    (rc = store_resident_get(st, a.resident_id, &r, err)) != 0 ||
	    (rc = reg_applicant_check(&a, &r, today, err)) != 0 ||
	    (rc = reg_docs_ready(st, &a, today, err)) != 0)
		goto out;
	/* the law again on the day of approval (a birthday, an expiry or a
	 * record change may have come in between) */
	if (a.kind != STORE_APP_LOSS &&
	    (rc = reg_plan(st, &a, &r, today, &plan, err)) != 0)
		goto out;
	if (a.kind == STORE_APP_REISSUE) {
		/* the old card is surrendered (broken) or gone (lost): its
		 * certificates end now; a hold becomes final */
		if ((rc = store_card_get(st, a.card_serial, &card, err)) != 0 ||
		    (rc = holdings_of(st, a.resident_id, a.card_serial, &h,
				      err)) != 0)
			goto out;
		affected_of(&plan, &h, &af);
		bool lost = card.status == STORE_CARD_LOST;
		if ((rc = revoke_planned(ca, &plan, &h, &af, now, actor, &o,
					 err)) != 0 ||
		    (rc = reg_card_move(st, a.card_serial, a.resident_id,
					STORE_CARD_RETIRED, NULL, err)) != 0)
			goto out;
		snprintf(detail, sizeof(detail),
			 "old card %s retired (%s), %d certificate(s) revoked",
			 a.card_serial, lost ? "lost" : "damaged", af.n);
	}
	if ((rc = reg_app_move(st, &a, "approve", now, actor, detail, err)) !=
		0 ||
	    (rc = store_commit(st, err)) != 0)
		goto out;
	if (revoked != NULL) {
		memset(revoked, 0, sizeof(*revoked));
		revoked->revoked = o.revoked;
		memcpy(revoked->serials, o.serials, sizeof(o.serials));
	}
out:
	if (rc != 0)
		store_rollback(st);
	return rc;
}

/* ---- completion --------------------------------------------------------- */

static int check_keys(const store_app *a, const jpki_plan *pl,
		      const registry_complete_in *in, jpki_err *err)
{
	bool want_s = pl->cert[JPKI_CERT_SIGN].issue;
	bool want_a = pl->cert[JPKI_CERT_AUTH].issue;
	bool have_s = in != NULL && in->sign_pub != NULL;
	bool have_a = in != NULL && in->auth_pub != NULL;
	if (want_s && !have_s)
		return jpki_fail(
		    err, JPKI_ERR_INVAL,
		    "application %lld issues the signature "
		    "certificate: give the card's signature public "
		    "key",
		    (long long)a->id);
	if (want_a && !have_a)
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application %lld issues the authentication "
				 "certificate: give the card's authentication "
				 "public key",
				 (long long)a->id);
	if ((have_s && !want_s) || (have_a && !want_a))
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "application %lld does not issue the %s "
				 "certificate: no key for it",
				 (long long)a->id,
				 have_s && !want_s ? "signature"
						   : "authentication");
	return 0;
}

static int issue_for(jpki_ca *ca, const store_app *a, const jpki_plan *pl,
		     const char *card, const registry_complete_in *in,
		     time_t now, const char *actor, registry_outcome *o,
		     jpki_err *err)
{
	if (!pl->cert[JPKI_CERT_SIGN].issue && !pl->cert[JPKI_CERT_AUTH].issue)
		return 0;
	ca_issue_req req = {
	    .resident_id = a->resident_id,
	    .card_serial = card,
	    .sign_pub = in->sign_pub,
	    .auth_pub = in->auth_pub,
	    .renewal = a->kind == STORE_APP_RENEWAL,
	    .window_id = in->window_id,
	    .actor = REG_ACTOR(actor),
	    .now = now,
	    .plan = pl,
	};
	return ca_issue(ca, &req, &o->issued, err);
}

int registry_app_plan(jpki_ca *ca, int64_t app_id, time_t now, jpki_plan *out,
		      jpki_err *err)
{
	store *st = ca_store(ca);
	store_app a;
	store_resident r;
	int rc;
	if ((rc = store_app_get(st, app_id, &a, err)) != 0 ||
	    (rc = store_resident_get(st, a.resident_id, &r, err)) != 0)
		return rc;
	return reg_plan(st, &a, &r, jpki_date_of(now), out, err);
}

int registry_app_complete(jpki_ca *ca, int64_t app_id,
			  const registry_complete_in *in, time_t now,
			  const char *actor, registry_outcome *out,
			  jpki_err *err)
{
	store *st = ca_store(ca);
	store_app a;
	store_resident r;
	store_card card;
	holdings h;
	affected af;
	jpki_plan plan;
	registry_outcome o;
	jpki_date today = jpki_date_of(now);
	char detail[256] = "";
	memset(&o, 0, sizeof(o));
	memset(&h, 0, sizeof(h));
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = reg_app_load_open(st, app_id, &a, err)) != 0 ||
	    (rc = check_transition(&a, "complete", err)) != 0 ||
	    (rc = store_resident_get(st, a.resident_id, &r, err)) != 0)
		goto out;
	if (a.kind == STORE_APP_LOSS) {
		/* held on receipt; completion closes the case */
		memset(&plan, 0, sizeof(plan));
	} else if ((rc = reg_plan(st, &a, &r, today, &plan, err)) != 0) {
		goto out;
	}
	if ((rc = check_keys(&a, &plan, in, err)) != 0)
		goto out;
	if ((plan.cert[1].issue || plan.cert[2].issue) && out == NULL) {
		rc = jpki_fail(err, JPKI_ERR_INVAL,
			       "application %lld issues certificates: no "
			       "place for them",
			       (long long)app_id);
		goto out;
	}
	if (a.kind != STORE_APP_NEW_CARD && a.kind != STORE_APP_REISSUE &&
	    (rc = holdings_of(st, a.resident_id, a.card_serial, &h, err)) != 0)
		goto out;
	o.fee = plan.fee;
	switch (a.kind) {
	case STORE_APP_NEW_CARD:
	case STORE_APP_REISSUE:
		if ((rc = reg_card_hand_over(st, &a, today, &card, err)) != 0 ||
		    (rc = issue_for(ca, &a, &plan, card.serial, in, now, actor,
				    &o, err)) != 0)
			goto out;
		snprintf(detail, sizeof(detail),
			 "card %s handed over (valid to %04d-%02d-%02d)",
			 card.serial, card.expiry.y, card.expiry.m,
			 card.expiry.d);
		break;
	case STORE_APP_ISSUE:
	case STORE_APP_RENEWAL:
		if ((rc = issue_for(ca, &a, &plan, a.card_serial, in, now,
				    actor, &o, err)) != 0)
			goto out;
		break;
	case STORE_APP_FOUND:
		/* a hold is never released: revoke, then issue anew */
		affected_of(&plan, &h, &af);
		if ((rc = reg_card_move(st, a.card_serial, a.resident_id,
					STORE_CARD_ACTIVE, NULL, err)) != 0 ||
		    (rc = revoke_planned(ca, &plan, &h, &af, now, actor, &o,
					 err)) != 0 ||
		    (rc = issue_for(ca, &a, &plan, a.card_serial, in, now,
				    actor, &o, err)) != 0)
			goto out;
		snprintf(detail, sizeof(detail),
			 "card %s found: %d held certificate(s) revoked",
			 a.card_serial, af.n);
		break;
	case STORE_APP_REVOKE:
		affected_of(&plan, &h, &af);
		if ((rc = revoke_planned(ca, &plan, &h, &af, now, actor, &o,
					 err)) != 0)
			goto out;
		snprintf(detail, sizeof(detail), "%d certificate(s) revoked",
			 af.n);
		break;
	case STORE_APP_LOSS:
		snprintf(detail, sizeof(detail),
			 "loss report closed: card %s stays lost, %d "
			 "certificate(s) on hold since receipt",
			 a.card_serial, h.n_hold);
		break;
	case STORE_APP_PIN_RESET:
		snprintf(detail, sizeof(detail),
			 "PINs reset (%s%s%s); the holder set the new PINs at "
			 "the card",
			 (a.pins & STORE_APP_PIN_SIGN) ? "sign " : "",
			 (a.pins & STORE_APP_PIN_AUTH) ? "auth " : "",
			 (a.pins & STORE_APP_PIN_CARDINFO) ? "cardinfo " : "");
		break;
	}
	memcpy(o.card_serial, /* all three are char[40] */
	       a.kind == STORE_APP_NEW_CARD || a.kind == STORE_APP_REISSUE
		   ? a.new_card_serial
		   : a.card_serial,
	       sizeof(o.card_serial));
	if (o.issued.sign_serial[0] || o.issued.auth_serial[0]) {
		size_t n = strlen(detail);
		snprintf(detail + n, sizeof(detail) - n,
			 "%sissued sign=%s auth=%s", n ? "; " : "",
			 o.issued.sign_serial[0] ? o.issued.sign_serial : "-",
			 o.issued.auth_serial[0] ? o.issued.auth_serial : "-");
	}
	if ((rc = reg_app_move(st, &a, "complete", now, actor, detail, err)) !=
		0 ||
	    (rc = store_commit(st, err)) != 0)
		goto out;
	if (out != NULL) {
		*out = o;
		memset(&o, 0, sizeof(o)); /* transferred */
	}
out:
	if (rc != 0)
		store_rollback(st);
	ca_issued_free(&o.issued);
	return rc;
}

void registry_outcome_free(registry_outcome *o)
{
	if (o == NULL)
		return;
	ca_issued_free(&o->issued);
}

/* ---- rejection, withdrawal ---------------------------------------------- */

static int close_app(jpki_ca *ca, int64_t app_id, const char *event,
		     const char *reason, time_t now, const char *actor,
		     jpki_err *err)
{
	store *st = ca_store(ca);
	store_app a;
	int rc = store_begin(st, err);
	if (rc != 0)
		return rc;
	if ((rc = reg_app_load_open(st, app_id, &a, err)) != 0)
		goto out;
	if (reason != NULL && reason[0] != '\0' &&
	    jpki_strlcpy(a.note, reason, sizeof(a.note)) != 0) {
		rc = jpki_fail(err, JPKI_ERR_RANGE, "reason is too long");
		goto out;
	}
	if ((rc = reg_app_move(st, &a, event, now, actor, reason, err)) != 0 ||
	    (rc = store_commit(st, err)) != 0)
		goto out;
out:
	if (rc != 0)
		store_rollback(st);
	return rc;
}

int registry_app_reject(jpki_ca *ca, int64_t app_id, const char *reason,
			time_t now, const char *actor, jpki_err *err)
{
	if (reason == NULL || reason[0] == '\0')
		return jpki_fail(err, JPKI_ERR_INVAL,
				 "a rejection needs its reason");
	return close_app(ca, app_id, "reject", reason, now, actor, err);
}

int registry_app_cancel(jpki_ca *ca, int64_t app_id, time_t now,
			const char *actor, jpki_err *err)
{
	return close_app(ca, app_id, "cancel", "withdrawn by the applicant",
			 now, actor, err);
}
