// The (key, value) pairs the patterns find on one line. One list is reused for every line and
// only ever grows to the most pairs a line had: clearing it is `count = 0`, not a new array.
export class PairList {
  readonly keys: string[] = [];
  readonly values: number[] = [];
  count = 0;

  add(key: string, value: number): void {
    this.keys[this.count] = key;
    this.values[this.count] = value;
    this.count++;
  }
}
