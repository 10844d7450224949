// Package prunechannels defines the prune-channels pass: structured
// pruning that removes whole channels, so that every layer really gets
// smaller and faster (unlike scattered zeros).
//
// It ranks each channel group that channels.Analyze can shrink by the L1
// or L2 norm of all the channels' coupled weights (source, sink and
// depthwise slices, summed) and removes the smallest ratio of them;
// min-channels, round-to, include and exclude refine the choice. Groups the
// analysis leaves alone are reported as skipped, with the reason.
package prunechannels
