package factors

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRFC6030Examples: the RFC's own figures. Figure 6 is an HOTP key under the pre-shared key
// 12345678901234567890123456789012 (hex), which must be refused as HOTP once its MAC verifies;
// the same key package marked TOTP imports the RFC's secret.
func TestRFC6030Examples(t *testing.T) {
	fig6, _ := os.ReadFile("testdata/rfc6030-figure6.pskcxml")
	psk, _ := hex.DecodeString("12345678901234567890123456789012")
	if _, err := ParseSeedsPSKC(fig6, psk); err == nil || !strings.Contains(err.Error(), "HOTP") || !strings.Contains(err.Error(), `serial "987654321"`) {
		t.Fatalf("figure 6 (HOTP): %v", err)
	}
	totp := bytes.Replace(fig6, []byte("pskc:hotp"), []byte("pskc:totp"), 1)
	seeds, err := ParseSeedsPSKC(totp, psk)
	if err != nil {
		t.Fatal(err)
	}
	if len(seeds) != 1 || seeds[0].Serial != "987654321" || !bytes.Equal(seeds[0].Seed, rfcSeed) || seeds[0].TOTP.Digits != 8 {
		t.Fatalf("figure 6 as TOTP: %+v", seeds)
	}
	wrong, _ := hex.DecodeString("12345678901234567890123456789013")
	if _, err := ParseSeedsPSKC(totp, wrong); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Fatalf("wrong pre-shared key: %v", err)
	}
	if _, err := ParseSeedsPSKC(totp, nil); err == nil || !strings.Contains(err.Error(), "pre-shared key") {
		t.Fatalf("no pre-shared key: %v", err)
	}
	tampered := bytes.Replace(totp, []byte("Su+NvtQfmvfJzF6bmQiJqoLRExc="), []byte("Tu+NvtQfmvfJzF6bmQiJqoLRExc="), 1)
	if _, err := ParseSeedsPSKC(tampered, psk); err == nil || !strings.Contains(err.Error(), "MAC does not verify") {
		t.Fatalf("altered MAC: %v", err)
	}
	fig2, _ := os.ReadFile("testdata/rfc6030-figure2.pskcxml")
	if _, err := ParseSeedsPSKC(fig2, nil); err == nil || !strings.Contains(err.Error(), "HOTP") {
		t.Fatalf("figure 2: %v", err)
	}
	if _, err := ParseSeedsPSKC([]byte("<html/>"), nil); err == nil || !strings.Contains(err.Error(), "PSKC") {
		t.Fatalf("not PSKC: %v", err)
	}
}

// TestPSKCFromOpenSSL imports a file whose encryption and MAC were made by openssl, a tool
// nobody here wrote, with SHA256, 8 digits and a 60 s step.
func TestPSKCFromOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed for this test")
	}
	pskHex, ivHex, macKeyHex, macIVHex := "000102030405060708090a0b0c0d0e0f", "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "1122334455667788990011223344556677889900", "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	seed := []byte("12345678901234567890123456789012")
	enc := func(plain []byte, iv string) []byte {
		cmd := exec.Command("openssl", "enc", "-aes-128-cbc", "-K", pskHex, "-iv", iv)
		cmd.Stdin = bytes.NewReader(plain)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		ivb, _ := hex.DecodeString(iv)
		return append(ivb, out...)
	}
	macKey, _ := hex.DecodeString(macKeyHex)
	secretCT := enc(seed, ivHex)
	cmd := exec.Command("openssl", "dgst", "-sha1", "-mac", "HMAC", "-macopt", "hexkey:"+macKeyHex, "-binary")
	cmd.Stdin = bytes.NewReader(secretCT)
	mac, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	file := `<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
 <EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></EncryptionKey>
 <MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"><MACKey>
  <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
  <xenc:CipherData><xenc:CipherValue>` + b64(enc(macKey, macIVHex)) + `</xenc:CipherValue></xenc:CipherData></MACKey></MACMethod>
 <KeyPackage>
  <DeviceInfo><Manufacturer>Acme</Manufacturer><SerialNo>ACME00000042</SerialNo></DeviceInfo>
  <Key Id="k1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc#totp">
   <AlgorithmParameters><ResponseFormat Length="8" Encoding="DECIMAL"/><Suite>HMAC-SHA256</Suite></AlgorithmParameters>
   <Data>
    <Secret><EncryptedValue><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
     <xenc:CipherData><xenc:CipherValue>` + b64(secretCT) + `</xenc:CipherValue></xenc:CipherData></EncryptedValue>
     <ValueMAC>` + b64(mac) + `</ValueMAC></Secret>
    <TimeInterval><PlainValue>60</PlainValue></TimeInterval>
   </Data>
  </Key>
 </KeyPackage>
</KeyContainer>`
	psk, _ := hex.DecodeString(pskHex)
	seeds, err := ParseSeedsPSKC([]byte(file), psk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(seeds[0].Seed, seed) || seeds[0].TOTP != (TOTP{"SHA256", 8, 60}) || seeds[0].Serial != "ACME00000042" {
		t.Fatalf("seeds: %+v", seeds[0])
	}
}
