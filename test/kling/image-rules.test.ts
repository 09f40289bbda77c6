import { describe, expect, it } from 'vitest';
import { imageProblem, readImage } from '../../src/kling/image-rules';
import { png } from '../support/images';

/** A JPEG's start: an APP0 segment, then the baseline frame header that holds the size. */
function jpeg(width: number, height: number): Buffer {
  const app0 = [0xff, 0xe0, 0x00, 0x10, ...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const size = [height >> 8, height & 255, width >> 8, width & 255];
  const sof0 = [0xff, 0xc0, 0x00, 0x11, 8, ...size, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  return Buffer.from([0xff, 0xd8, ...app0, 0xff, 0xff, ...sof0, 0xff, 0xd9]);
}

describe('Kling image rules', () => {
  it('reads the size of a PNG and of a JPEG from its header', () => {
    expect(readImage(png(1280, 720))).toEqual({ type: 'png', width: 1280, height: 720 });
    expect(readImage(jpeg(640, 960))).toEqual({ type: 'jpg', width: 640, height: 960 });
    expect(readImage(Buffer.from('GIF89a\x01\x00\x01\x00'))).toBeUndefined();
    expect(readImage(jpeg(640, 960).subarray(0, 12))).toBeUndefined();
  });

  it('names the rule an image breaks', () => {
    expect(imageProblem(png(1280, 720))).toBeUndefined();
    expect(imageProblem(png(750, 300))).toBeUndefined(); // 2.5:1 exactly
    const html = Buffer.from('<html>sign in</html>');
    expect(imageProblem(html)).toBe('Kling takes JPG or PNG images; this file is neither.');
    expect(imageProblem(png(299, 600))).toBe(
      'Each side of the image must be at least 300 px; this image is 299×600 px.',
    );
    expect(imageProblem(jpeg(300, 751))).toBe(
      "The image's aspect ratio must be between 1:2.5 and 2.5:1; this image is 300×751 px.",
    );
    expect(imageProblem(png(1000, 1000, 10 * 1024 * 1024 + 1))).toBe(
      'Kling takes images of at most 10 MB; this one is 10.1 MB.',
    );
  });
});
