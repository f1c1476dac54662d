// Package abi holds the names and values that the stage0/stage1 interface
// fixes: stage1 manifest annotations and interface versions, pod state names,
// exit codes, environment variables, DNS modes and the runtime-config file.
package abi
