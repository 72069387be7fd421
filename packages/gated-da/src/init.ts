import * as tfl from '@tensorflow/tfjs-layers';

export const ones = () => tfl.initializers.ones();
export const constant = (value: number) => tfl.initializers.constant({ value });
