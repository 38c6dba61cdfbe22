package caddymodule

import (
	"encoding/json"
	"fmt"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// KeyList is encryption_key: one key, or several while the key rotates (the first seals, every
// one opens). In JSON it is a string or a list of strings; a single key is written as a string,
// as before lists were accepted.
type KeyList []string

// UnmarshalJSON takes a string or a list of strings.
func (k *KeyList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*k = nil
		if one != "" {
			*k = KeyList{one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("encryption_key: want a key or a list of keys: %w", err)
	}
	*k = many
	return nil
}

// MarshalJSON writes one key as a string, several as a list.
func (k KeyList) MarshalJSON() ([]byte, error) {
	if len(k) == 1 {
		return json.Marshal(k[0])
	}
	return json.Marshal([]string(k))
}

// encryptionKeys decodes encryption_key (placeholders replaced), or reads the generated key
// when none is configured.
func (a *App) encryptionKeys(repl *caddy.Replacer) ([][]byte, error) {
	if len(a.EncryptionKey) == 0 {
		k, err := a.generatedKey("encryption.key", store.KeySize)
		return [][]byte{k}, err
	}
	out := make([][]byte, len(a.EncryptionKey))
	for i, s := range a.EncryptionKey {
		field := "encryption_key"
		if len(a.EncryptionKey) > 1 {
			field = fmt.Sprintf("encryption_key[%d]", i)
		}
		k, err := decodeKey(field, repl.ReplaceAll(s, ""), store.KeySize, true)
		if err != nil {
			return nil, err
		}
		out[i] = k
	}
	return out, nil
}
