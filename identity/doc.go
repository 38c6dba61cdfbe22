// Package identity holds the gateway's users: names, bcrypt passwords, groups, and (for API
// consumers) long-term access keys. It must never log or return a password, hash or secret, and a
// sign-in with an unknown name must cost what a wrong password costs.
package identity
