// Package deadneurons defines the dead-neurons pass: it removes neurons
// and channels that cannot influence the output, so the result computes
// the same function with smaller layers.
//
// A channel of a group that channels.Analyze can shrink is dead when its
// outgoing weights are all zero, or when its incoming weights are all zero
// and its value, worked out through the group's ops (constant.go), is zero
// where it is read or a constant that can be folded into the reading
// layers' biases first (fold.go). One channel of each group always stays:
// a layer of width zero is not valid ONNX.
package deadneurons
