// Package trust keeps rkt's trusted-key store and checks the detached,
// ASCII-armored OpenPGP signatures (IMAGE.aci.asc) of images against it.
//
// The store is shared with rkt, so its layout is rkt's:
//
//	<system-config>/trustedkeys/root.d/<fingerprint>
//	<local-config>/trustedkeys/root.d/<fingerprint>
//	<system-config>/trustedkeys/prefix.d/<prefix>/<fingerprint>
//	<local-config>/trustedkeys/prefix.d/<prefix>/<fingerprint>
//
// <fingerprint> is the 40 lower-case hex digits of the primary key's v4
// fingerprint, and the file holds that armored public key. <prefix> is an AC
// identifier whose "/" separators become nested directories. A root key is
// trusted for every image name, and a prefix key for the names under its
// prefix. An empty file named after a fingerprint removes that key from what
// the directories read before it contributed, so the local configuration can
// mask a key of the system configuration. New keys go to the local
// configuration only.
//
// OpenPGP parsing and signature checks use github.com/ProtonMail/go-crypto,
// so expired and revoked keys and signing subkeys are handled as that library
// defines: a signature it rejects is rejected here.
package trust
