/* A narrow C API over libsrtp2 for weft's tests: one session per direction, any SSRC. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <srtp2/srtp.h>

/* Profiles, numbered as weft_srtp::Profile is listed. */
enum { AES_CM_80 = 0, AES_CM_32 = 1, GCM_128 = 2, GCM_256 = 3, NULL_80 = 4 };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_status = -1;

static void init(void) { init_status = (int)srtp_init(); }

void *weft_shim_new(int profile, const unsigned char *key_salt, int outbound) {
    pthread_once(&once, init);
    if (init_status != srtp_err_status_ok) return NULL;
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    switch (profile) {
    case AES_CM_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
        break;
    case AES_CM_32:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
        break;
    case GCM_128:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
        break;
    case GCM_256:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
        break;
    case NULL_80:
        srtp_crypto_policy_set_null_cipher_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_null_cipher_hmac_sha1_80(&p.rtcp);
        break;
    default:
        return NULL;
    }
    p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = (unsigned char *)key_salt;
    p.window_size = 1024;
    p.allow_repeat_tx = 0;
    p.next = NULL;
    srtp_t session = NULL;
    if (srtp_create(&session, &p) != srtp_err_status_ok) return NULL;
    return session;
}

int weft_shim_protect(void *s, unsigned char *buf, int *len) {
    return srtp_protect((srtp_t)s, buf, len);
}

int weft_shim_unprotect(void *s, unsigned char *buf, int *len) {
    return srtp_unprotect((srtp_t)s, buf, len);
}

int weft_shim_protect_rtcp(void *s, unsigned char *buf, int *len) {
    return srtp_protect_rtcp((srtp_t)s, buf, len);
}

int weft_shim_unprotect_rtcp(void *s, unsigned char *buf, int *len) {
    return srtp_unprotect_rtcp((srtp_t)s, buf, len);
}

void weft_shim_free(void *s) {
    srtp_dealloc((srtp_t)s);
}
