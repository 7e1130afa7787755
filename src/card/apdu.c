/* The APDU engine: command parsing (ISO 7816-3 cases, short and extended),
 * CLA/INS dispatch, the file model, SELECT and READ BINARY.  Status words
 * follow docs/reference/card-interface.md §4. */
#include <string.h>

#include "card_priv.h"
#include "openjpki/buf.h"

static const uint8_t aid_jpki[] = {0xD3, 0x92, 0xF0, 0x00, 0x26,
				   0x01, 0x00, 0x00, 0x00, 0x01};
static const uint8_t aid_cardinfo[] = {0xD3, 0x92, 0x10, 0x00, 0x31,
				       0x00, 0x01, 0x01, 0x04, 0x08};

static const card_ef efs[] = {
    {CARD_AP_JPKI, 0x0001, EF_DATA, JPKI_CPIN_SIGN},
    {CARD_AP_JPKI, 0x0002, EF_DATA, 0},
    {CARD_AP_JPKI, 0x0006, EF_DATA, 0},
    {CARD_AP_JPKI, 0x0008, EF_DATA, 0},
    {CARD_AP_JPKI, 0x000A, EF_DATA, 0},
    {CARD_AP_JPKI, 0x000B, EF_DATA, 0},
    {CARD_AP_JPKI, 0x0017, EF_KEY, JPKI_CPIN_AUTH},
    {CARD_AP_JPKI, 0x0018, EF_PIN, 0},
    {CARD_AP_JPKI, 0x001A, EF_KEY, JPKI_CPIN_SIGN},
    {CARD_AP_JPKI, 0x001B, EF_PIN, 0},
    {CARD_AP_CARDINFO, 0x0001, EF_DATA, JPKI_CPIN_CARDINFO},
    {CARD_AP_CARDINFO, 0x0002, EF_DATA, JPKI_CPIN_CARDINFO},
    {CARD_AP_CARDINFO, 0x0011, EF_PIN, 0},
};

/* ISO 7816-3 §12.1: case 1 (header only), 2 (Le), 3 (Lc data), 4 (Lc data
 * Le), each short or extended.  Anything else is malformed. */
int card_cmd_parse(const uint8_t *apdu, size_t len, card_cmd *out)
{
	jpki_rbuf b;
	card_cmd c;
	uint8_t b5;
	uint16_t l16;

	memset(&c, 0, sizeof(c));
	jpki_rbuf_init(&b, apdu, len);
	if (jpki_rbuf_u8(&b, &c.cla) != 0 || jpki_rbuf_u8(&b, &c.ins) != 0 ||
	    jpki_rbuf_u8(&b, &c.p1) != 0 || jpki_rbuf_u8(&b, &c.p2) != 0)
		return JPKI_ERR_PARSE;
	if (jpki_rbuf_left(&b) == 0)
		goto done; /* case 1 */
	if (jpki_rbuf_u8(&b, &b5) != 0)
		return JPKI_ERR_PARSE;
	if (jpki_rbuf_left(&b) == 0) { /* case 2 short */
		c.has_le = true;
		c.le = b5 == 0 ? 256 : b5;
		goto done;
	}
	if (b5 != 0) { /* case 3 or 4 short */
		c.lc = b5;
		if (jpki_rbuf_ptr(&b, &c.data, c.lc) != 0)
			return JPKI_ERR_PARSE;
		if (jpki_rbuf_left(&b) == 1) {
			if (jpki_rbuf_u8(&b, &b5) != 0)
				return JPKI_ERR_PARSE;
			c.has_le = true;
			c.le = b5 == 0 ? 256 : b5;
		}
		goto done;
	}
	/* extended: 00 then two bytes */
	c.ext = true;
	if (jpki_rbuf_u16be(&b, &l16) != 0)
		return JPKI_ERR_PARSE;
	if (jpki_rbuf_left(&b) == 0) { /* case 2 extended */
		c.has_le = true;
		c.le = l16 == 0 ? 65536 : l16;
		goto done;
	}
	if (l16 == 0)
		return JPKI_ERR_PARSE;
	c.lc = l16;
	if (jpki_rbuf_ptr(&b, &c.data, c.lc) != 0)
		return JPKI_ERR_PARSE;
	if (jpki_rbuf_left(&b) == 2) {
		if (jpki_rbuf_u16be(&b, &l16) != 0)
			return JPKI_ERR_PARSE;
		c.has_le = true;
		c.le = l16 == 0 ? 65536 : l16;
	}
done:
	if (jpki_rbuf_end(&b) != 0)
		return JPKI_ERR_PARSE;
	*out = c;
	return 0;
}

const card_ef *card_ef_find(int ap, uint16_t fid)
{
	for (size_t i = 0; i < sizeof(efs) / sizeof(efs[0]); i++)
		if (efs[i].ap == ap && efs[i].fid == fid)
			return &efs[i];
	return NULL;
}

const card_ef *card_ef_ref(const jpki_card *card, uint8_t p2, uint16_t *sw)
{
	const card_ef *ef;
	if (p2 == 0x80) {
		if (card->cur_ap == CARD_AP_NONE || !card->ef_selected) {
			*sw = SW_NO_CURRENT_EF;
			return NULL;
		}
		return card_ef_find(card->cur_ap, card->cur_ef);
	}
	if ((p2 & 0xE0) != 0x80) {
		*sw = SW_WRONG_P1P2;
		return NULL;
	}
	/* 80 | SFI: the EF whose FID is 00 <SFI> in the current AP */
	if (card->cur_ap == CARD_AP_NONE ||
	    (ef = card_ef_find(card->cur_ap, p2 & 0x1F)) == NULL) {
		*sw = SW_REF_NOT_FOUND;
		return NULL;
	}
	return ef;
}

card_pin *card_pin_of(jpki_card *card, int ap, uint16_t fid)
{
	if (ap == CARD_AP_JPKI && fid == JPKI_CPIN_AUTH)
		return &card->pin_auth;
	if (ap == CARD_AP_JPKI && fid == JPKI_CPIN_SIGN)
		return &card->pin_sign;
	if (ap == CARD_AP_CARDINFO && fid == JPKI_CPIN_CARDINFO)
		return &card->pin_cardinfo;
	return NULL;
}

card_key *card_key_of(jpki_card *card, uint16_t fid)
{
	if (fid == JPKI_KEY_AUTH)
		return &card->key_auth;
	if (fid == JPKI_KEY_SIGN)
		return &card->key_sign;
	return NULL;
}

/* Content of a data EF; .p == NULL when absent.  EF 0006 and 0008 are
 * fixed-size arrays and always present. */
card_blob *card_data_of(jpki_card *card, int ap, uint16_t fid)
{
	if (ap == CARD_AP_CARDINFO) {
		if (fid == 0x0001)
			return &card->mynumber;
		if (fid == 0x0002)
			return &card->basic4;
		return NULL;
	}
	switch (fid) {
	case 0x0001: return &card->cert_sign;
	case 0x0002: return &card->cert_sign_ca;
	case 0x000A: return &card->cert_auth;
	case 0x000B: return &card->cert_auth_ca;
	}
	return NULL;
}

static bool data_present(jpki_card *card, const card_ef *ef, const uint8_t **p,
			 size_t *n)
{
	if (ef->ap == CARD_AP_JPKI && ef->fid == 0x0006) {
		*p = card->token;
		*n = sizeof(card->token);
		return true;
	}
	if (ef->ap == CARD_AP_JPKI && ef->fid == 0x0008) {
		*p = card->presence;
		*n = sizeof(card->presence);
		return true;
	}
	card_blob *b = card_data_of(card, ef->ap, ef->fid);
	if (b == NULL || b->p == NULL)
		return false;
	*p = b->p;
	*n = b->len;
	return true;
}

bool card_guard_ok(jpki_card *card, const card_ef *ef)
{
	if (ef->guard == 0)
		return true;
	card_pin *pin = card_pin_of(card, ef->ap, ef->guard);
	return pin != NULL && pin->verified;
}

static uint16_t select_aid(jpki_card *card, const card_cmd *c)
{
	int ap;
	if (c->p2 != 0x0C && c->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (c->lc == sizeof(aid_jpki) &&
	    memcmp(c->data, aid_jpki, sizeof(aid_jpki)) == 0)
		ap = CARD_AP_JPKI;
	else if (c->lc == sizeof(aid_cardinfo) &&
		 memcmp(c->data, aid_cardinfo, sizeof(aid_cardinfo)) == 0)
		ap = CARD_AP_CARDINFO;
	else
		return SW_NOT_FOUND;
	/* spec §3.4: a different AP clears the previous AP's PIN state;
	 * re-selecting the same AP keeps it unless the switch says so. */
	if (card->cur_ap != ap ||
	    (card->options & JPKI_CARD_OPT_CLEAR_ON_RESELECT) != 0)
		card_clear_verified(card, card->cur_ap);
	if (card->options & JPKI_CARD_OPT_CLEAR_ON_RESELECT)
		card_clear_verified(card, ap);
	card->cur_ap = ap;
	card->ef_selected = false;
	card->cur_ef = 0;
	return SW_OK;
}

uint16_t card_select(jpki_card *card, const card_cmd *c)
{
	switch (c->p1) {
	case 0x04:
		if (c->lc == 0 || c->lc > 16)
			return SW_WRONG_LENGTH;
		return select_aid(card, c);
	case 0x02: {
		const card_ef *ef;
		const uint8_t *p;
		size_t n;
		if (c->p2 != 0x0C && c->p2 != 0x00)
			return SW_WRONG_P1P2;
		if (c->lc != 2)
			return SW_WRONG_LENGTH;
		uint16_t fid = (uint16_t)(c->data[0] << 8 | c->data[1]);
		if (card->cur_ap == CARD_AP_NONE ||
		    (ef = card_ef_find(card->cur_ap, fid)) == NULL)
			return SW_NOT_FOUND;
		if (ef->kind == EF_DATA && !data_present(card, ef, &p, &n))
			return SW_NOT_FOUND;
		card->ef_selected = true;
		card->cur_ef = fid;
		return SW_OK;
	}
	case 0x00:
		/* SELECT MF: refused right after reset, a no-op with an AP
		 * current (spec §4.6). */
		if (c->p2 != 0x0C && c->p2 != 0x00)
			return SW_WRONG_P1P2;
		return card->cur_ap == CARD_AP_NONE ? SW_WRONG_P1P2 : SW_OK;
	default: return SW_WRONG_P1P2;
	}
}

uint16_t card_read_binary(jpki_card *card, const card_cmd *c, card_rsp *rsp)
{
	const card_ef *ef;
	const uint8_t *p;
	size_t n, off;

	if (c->lc != 0 || !c->has_le)
		return SW_WRONG_LENGTH;
	if (c->p1 & 0x80) {
		/* short EF identifier: P1 = 100 SFI, P2 = offset */
		if ((c->p1 & 0x60) != 0)
			return SW_WRONG_P1P2;
		if (card->cur_ap == CARD_AP_NONE ||
		    (ef = card_ef_find(card->cur_ap, c->p1 & 0x1F)) == NULL)
			return SW_NOT_FOUND;
		off = c->p2;
		if (ef->kind == EF_DATA && !data_present(card, ef, &p, &n))
			return SW_NOT_FOUND;
		card->ef_selected = true;
		card->cur_ef = ef->fid;
	} else {
		if (card->cur_ap == CARD_AP_NONE || !card->ef_selected)
			return SW_NO_CURRENT_EF;
		ef = card_ef_find(card->cur_ap, card->cur_ef);
		off = (size_t)c->p1 << 8 | c->p2;
	}
	if (ef == NULL)
		return SW_NO_CURRENT_EF;
	if (ef->kind != EF_DATA)
		return SW_INCOMPATIBLE_FILE;
	if (!card_guard_ok(card, ef))
		return SW_SECURITY;
	if (!data_present(card, ef, &p, &n))
		return SW_NOT_FOUND;
	if (off >= n)
		return SW_WRONG_OFFSET;
	n -= off;
	if (n > c->le)
		n = c->le;
	if (n > rsp->cap)
		return SW_INTERNAL_RESP_TOO_SMALL;
	memcpy(rsp->buf, p + off, n);
	rsp->len = n;
	return SW_OK;
}

/* CLA 00: the ISO commands. */
static uint16_t dispatch_iso(jpki_card *card, const card_cmd *c, card_rsp *rsp,
			     bool chal_valid)
{
	switch (c->ins) {
	case 0xA4: return card_select(card, c);
	case 0xB0: return card_read_binary(card, c, rsp);
	case 0x20: return card_verify(card, c);
	case 0x24: return card_change_ref(card, c);
	case 0x84: return card_get_challenge(card, c, rsp);
	case 0x82: return card_ext_auth(card, c, chal_valid);
	default: return SW_INS;
	}
}

/* CLA 80: the JPKI signature command and personalisation. */
static uint16_t dispatch_prop(jpki_card *card, const card_cmd *c, card_rsp *rsp)
{
	switch (c->ins) {
	case 0x2A: return card_sign(card, c, rsp);
	case 0x46: return card_perso_generate(card, c);
	case 0xCA: return card_perso_get_pubkey(card, c, rsp);
	case 0xDA: return card_perso_put_data(card, c);
	default: return SW_INS;
	}
}

int card_apdu(jpki_card *card, const uint8_t *cmd, size_t cmd_len,
	      uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
	card_cmd c;
	card_rsp rsp;
	uint16_t sw;
	bool chal_valid;

	if (card == NULL || cmd == NULL || resp == NULL || resp_len == NULL ||
	    resp_cap < 2)
		return JPKI_ERR_INVAL;
	/* A challenge is good for the command right after GET CHALLENGE. */
	chal_valid = card->chal_valid;
	card->chal_valid = false;
	rsp.buf = resp;
	rsp.cap = resp_cap - 2;
	rsp.len = 0;
	if (cmd_len > JPKI_CARD_CMD_MAX ||
	    card_cmd_parse(cmd, cmd_len, &c) != 0)
		sw = SW_WRONG_LENGTH;
	else if (c.cla == 0x00)
		sw = dispatch_iso(card, &c, &rsp, chal_valid);
	else if (c.cla == 0x80)
		sw = dispatch_prop(card, &c, &rsp);
	else if ((c.cla & 0x80) == 0 && (c.cla & 0x0C) != 0 &&
		 (c.cla & 0x73) == 0)
		sw = SW_SM_UNSUPPORTED; /* secure messaging, channel 0 */
	else
		sw = SW_CLA;
	if (sw == SW_INTERNAL_RESP_TOO_SMALL)
		return JPKI_ERR_RANGE;
	if (sw != SW_OK)
		rsp.len = 0;
	resp[rsp.len] = (uint8_t)(sw >> 8);
	resp[rsp.len + 1] = (uint8_t)sw;
	*resp_len = rsp.len + 2;
	return 0;
}
