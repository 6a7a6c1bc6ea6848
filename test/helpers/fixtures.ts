// Tiny but well-formed images of every accepted type, plus things that are not images.
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export const images = {
  png: hex(`89504e470d0a1a0a 0000000d49484452 00000001000000010806000000 1f15c489
            0000000d49444154 789c63f8cfc0f01f 000500 01ff89993d1d 0000000049454e44ae426082`),
  gif: Buffer.concat([Buffer.from('GIF89a'), hex('0100010080000000000000ffffff21f90401000000002c00000000010001000002024401003b')]),
  jpeg: hex('ffd8ffe000104a46494600010100000100010000ffdb004300' + '01'.repeat(64) + 'ffd9'),
  webp: Buffer.concat([Buffer.from('RIFF'), hex('1a000000'), Buffer.from('WEBPVP8L'), hex('0d0000002f0000001007102011118888fe0700')]),
  bmp: hex('424d3a000000000000003600000028000000010000000100000001001800000000000400000000000000000000000000000000000000ffffff00'),
};

export const notImages = {
  text: Buffer.from('this is plain text pretending to be a PNG\n'),
  html: Buffer.from('<!doctype html><script>alert(1)</script>'),
  svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
  pdf: Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n', 'latin1'),
};

/** A distinct valid PNG per seed, so replacements are observable by their bytes. */
export function pngVariant(seed: number): Buffer {
  return Buffer.concat([images.png, Buffer.from(`tEXt-${seed}`)]);
}
