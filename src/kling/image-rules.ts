/** What Kling takes as an input image: JPG or PNG, at most 10 MB, each side 300 px or more, 1:2.5 to 2.5:1. */
export const IMAGE_MAX_BYTES = 10 * 1024 * 1024;
const MIN_SIDE_PX = 300;
const MAX_RATIO = 2.5;

export interface ImageFacts {
  type: 'png' | 'jpg';
  width: number;
  height: number;
}

/** Rounded up, so a file just over the limit does not read as exactly at it. */
const mb = (bytes: number) => `${(Math.ceil((bytes / 1024 / 1024) * 10) / 10).toFixed(1)} MB`;

/** The rule a file of this size breaks, before it is fetched; undefined when it may be fetched. */
export function sizeProblem(bytes: number): string | undefined {
  return bytes > IMAGE_MAX_BYTES ? `Kling takes images of at most 10 MB; this one is ${mb(bytes)}.` : undefined;
}

/** The rule the image breaks, in words for the person who sent it; undefined when Kling takes it. */
export function imageProblem(bytes: Buffer): string | undefined {
  const tooBig = sizeProblem(bytes.length);
  if (tooBig) return tooBig;
  const facts = readImage(bytes);
  if (!facts) return 'Kling takes JPG or PNG images; this file is neither.';
  const { width, height } = facts;
  const shape = `this image is ${width}×${height} px`;
  if (Math.min(width, height) < MIN_SIDE_PX) {
    return `Each side of the image must be at least ${MIN_SIDE_PX} px; ${shape}.`;
  }
  if (Math.max(width, height) / Math.min(width, height) > MAX_RATIO) {
    return `The image's aspect ratio must be between 1:2.5 and 2.5:1; ${shape}.`;
  }
  return undefined;
}

/** The type and size of a PNG or JPEG from its header; undefined for anything else (or a truncated file). */
export function readImage(bytes: Buffer): ImageFacts | undefined {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(png) && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return { type: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  // JPEG: walk the segments to the first start-of-frame, which holds the size.
  let at = 2;
  while (at + 9 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) return { type: 'jpg', height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    // Markers without a length: the standalone ones.
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return undefined;
}
