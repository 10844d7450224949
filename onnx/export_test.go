package onnx

// SetAliasMin lets tests exercise the mapped reader on small files.
func SetAliasMin(n int64) (restore func()) {
	old := aliasMin
	aliasMin = n
	return func() { aliasMin = old }
}
