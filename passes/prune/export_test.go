package prune

// SetChunkElems changes the chunk size of global selection for a test and
// returns a function that restores it.
func SetChunkElems(n int) (restore func()) {
	old := chunkElems
	chunkElems = n
	return func() { chunkElems = old }
}
