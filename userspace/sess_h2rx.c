/* sess_h2rx.c: DATA received on a tunnel connection over TLS, decrypted straight into
 * its stream's receive ring. As sess.c reads plaintext it walks the frames by their
 * 9-byte headers (RFC 9113 4.1, sess_h2_rx_track); when what comes next is the payload
 * of a DATA frame without padding and the frame's stream is one of ours with room at the
 * end of its ring, SSL_read writes it there (sess_h2_rx_place). nghttp2 then parses those
 * bytes where they lie, and the stream's data callback (sess_h2.c), seeing them at the
 * ring's tail already, only counts them in. Everything else (the client preface, other
 * frames, padded DATA, DATA for h2dn.c's http streams, a ring with no room at its end)
 * goes through the session's scratch buffer, and its DATA is copied into the ring. The
 * walk only picks the buffer: nghttp2 still checks every byte, and should the two ever
 * disagree, bytes are copied, never misplaced.
 *
 * Between two hermesd every DATA payload larger than TLS_STAGE_SMALL goes in place: a
 * sending hermesd ends a record with each such frame's header (sess_h2.c send_data), so
 * the payload's records hold payload only. Smaller payloads come in one record with
 * their headers and the other frames of the sender's loop turn, and are copied: a record
 * saved costs more than the copy. */
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "ep.h"
#include "sess-int.h"

uint8_t *sess_h2_rx_place(struct sess *s, size_t *len)
{
	struct sstream *st;
	uint8_t *p;
	size_t room;

	if (!s->rx_data || !s->mux.ng || s->mux.ng_err)
		return NULL;
	st = sess_h2_stream(s, s->rx_sid);
	if (st)
		st->rx.max = s->stream_win; /* the window its session announced */
	if (!st || ep_ring_tail(&st->rx, &p, &room) || !room)
		return NULL;
	*len = room < s->rx_data ? room : s->rx_data;
	return p;
}

void sess_h2_rx_track(struct sess *s, const uint8_t *p, size_t n)
{
	while (n) {
		size_t k;

		if (s->rx_data || s->rx_pass) {
			uint32_t *left = s->rx_data ? &s->rx_data : &s->rx_pass;

			k = *left < n ? *left : n;
			*left -= (uint32_t)k;
		} else {
			const uint8_t *h = s->rx_fh;

			k = 9u - s->rx_fh_len < n ? 9u - s->rx_fh_len : n;
			memcpy(s->rx_fh + s->rx_fh_len, p, k);
			s->rx_fh_len += (uint8_t)k;
			if (s->rx_fh_len == 9) {
				uint32_t flen = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];

				s->rx_fh_len = 0;
				if (h[3] == NGHTTP2_DATA && !(h[4] & NGHTTP2_FLAG_PADDED)) {
					s->rx_data = flen;
					s->rx_sid = (int32_t)((uint32_t)(h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 |
							      (uint32_t)h[7] << 8 | h[8]);
				} else {
					s->rx_pass = flen;
				}
			}
		}
		p += k;
		n -= k;
	}
}
