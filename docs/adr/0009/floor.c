/* What OpenSSL's AES-GCM code costs per 1200-byte SRTP packet (12-byte header as AAD, 1188-byte
 * payload) on this machine, with no SRTP work: the figures of ADR 0009.
 *
 *   gcc -O3 -mavx2 floor.c -o floor -lcrypto && ./floor
 *
 * Each figure is the shortest mean over 3000 batches of 256 calls (the machine is shared). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/modes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static unsigned char buf[2048], key[16] = {1}, iv[12] = {2}, tag[16], hdr[12] = {0x80};
static unsigned char ctrs[76 * 16], ks[76 * 16];
static const int len = 1188;
static EVP_CIPHER_CTX *ecb, *prov, *legacy;
static GCM128_CONTEXT *gcm;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static double floor_of(void (*f)(int)) {
    double best = 1e9;
    for (int r = 0; r < 3000; r++) {
        double t = now();
        for (int i = 0; i < 256; i++) f(i);
        t = (now() - t) / 256;
        if (t < best) best = t;
    }
    return best;
}

/* One AES block for CRYPTO_gcm128: the hash key at set-up, else served from `ks` (E(J0) is
 * block 0, the tail's block 75). */
static int serve = 0;
static void block(const unsigned char in[16], unsigned char out[16], const void *k) {
    if (!serve) { EVP_Cipher(ecb, out, in, 16); return; }
    memcpy(out, in[15] == 1 ? ks : ks + 75 * 16, 16);
}
static void stream(const unsigned char *in, unsigned char *out, size_t blocks, const void *k,
                   const unsigned char ivec[16]) {
    for (size_t i = 0; i < blocks * 16; i++) out[i] = in[i] ^ ks[16 + i];
}

static void aes_ecb(int i) { EVP_Cipher(ecb, buf, buf, 1200); }
static void ghash(int i) {
    iv[11] = i;
    CRYPTO_gcm128_setiv(gcm, iv, 12);
    CRYPTO_gcm128_aad(gcm, buf, 1200);
    CRYPTO_gcm128_tag(gcm, tag, 16);
}
/* AES-ECB over the packet's counter blocks, XOR, CRYPTO_gcm128 for GHASH and the tag. */
static void composed(int i) {
    iv[11] = i;
    for (int b = 0; b < 76; b++) memcpy(ctrs + 16 * b, iv, 12);
    EVP_Cipher(ecb, ks, ctrs, sizeof ctrs);
    CRYPTO_gcm128_setiv(gcm, iv, 12);
    CRYPTO_gcm128_aad(gcm, hdr, 12);
    CRYPTO_gcm128_encrypt_ctr32(gcm, buf, buf, len, stream);
    CRYPTO_gcm128_tag(gcm, tag, 16);
}
static void evp_streaming(int i) { EVP_Cipher(prov, buf, buf, 1184); }
static void evp_packet(EVP_CIPHER_CTX *c, int i) {
    iv[11] = i;
    EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, 1);
    EVP_Cipher(c, NULL, hdr, 12);
    EVP_Cipher(c, buf, buf, len);
    EVP_Cipher(c, NULL, NULL, 0);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag);
}
static void evp_provider(int i) { evp_packet(prov, i); }
static void evp_legacy(int i) { evp_packet(legacy, i); }

int main(void) {
    ecb = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(ecb, EVP_aes_128_ecb(), NULL, key, NULL);
    EVP_CIPHER_CTX_set_padding(ecb, 0);
    gcm = CRYPTO_gcm128_new(NULL, block);
    serve = 1;
    for (int b = 0; b < 76; b++) ctrs[16 * b + 15] = b + 1;
    prov = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(prov, EVP_aes_128_gcm(), NULL, key, iv);
    /* The pre-provider EVP_CIPHER (OpenSSL's e_aes.c, same stitched AES-NI/AVX code): no
     * OSSL_PARAM per IV or tag. */
    legacy = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(legacy, EVP_CIPHER_meth_dup(EVP_aes_128_gcm()), NULL, key, iv);

    printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("AES-128-ECB, 1200 B:                          %4.0f ns\n", floor_of(aes_ecb));
    printf("GHASH, 1200 B (CRYPTO_gcm128, AAD only):      %4.0f ns\n", floor_of(ghash));
    printf("ECB keystream + XOR + CRYPTO_gcm128 GHASH:    %4.0f ns per packet\n", floor_of(composed));
    printf("EVP AES-128-GCM streaming, 1184 B, no IV/tag: %4.0f ns\n", floor_of(evp_streaming));
    EVP_EncryptInit_ex(prov, NULL, NULL, NULL, iv);
    printf("EVP AES-128-GCM per packet (provider):        %4.0f ns per packet\n", floor_of(evp_provider));
    printf("EVP AES-128-GCM per packet (legacy method):   %4.0f ns per packet\n", floor_of(evp_legacy));
    return 0;
}
