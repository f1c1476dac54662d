// Package trustedkeys holds the layout of rkt's trusted-key store and a
// digest of its state, without any OpenPGP code:
//
//	<system-config>/trustedkeys/root.d/<fingerprint>
//	<local-config>/trustedkeys/root.d/<fingerprint>
//	<system-config>/trustedkeys/prefix.d/<prefix>/<fingerprint>
//	<local-config>/trustedkeys/prefix.d/<prefix>/<fingerprint>
//
// Package trust reads and writes the keys. The digest lets stage0 reuse a
// recorded signature check while the key files are unchanged, in the rkt
// binary that links no OpenPGP code.
package trustedkeys
