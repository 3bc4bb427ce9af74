// The codec numbers of record batch attributes (bits 0-2) and their config names. Kept apart
// from codecs.ts so the broker's main thread can name codecs without loading the libraries.

/** Record batch attribute bits 0-2. */
export const Codec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
export type CodecId = (typeof Codec)[keyof typeof Codec];

export const CODEC_NAMES: Readonly<Record<string, CodecId>> = {
  uncompressed: Codec.NONE,
  gzip: Codec.GZIP,
  snappy: Codec.SNAPPY,
  lz4: Codec.LZ4,
  zstd: Codec.ZSTD,
};
